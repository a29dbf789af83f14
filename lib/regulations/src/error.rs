//! The load error, and how a TOML error's byte offset becomes a field path.

/// A regulation file that does not load: which file, which field, what is
/// wrong. `field` is a path such as `steps[2].duration` (indices from 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {problem}")]
pub struct LoadError {
    pub file: String,
    pub field: String,
    pub problem: String,
}

impl LoadError {
    pub fn new(file: &str, field: impl Into<String>, problem: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_owned(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Turns a `toml` deserialisation error into a [`LoadError`] whose field is
/// the path of the table or key the error points at.
pub(crate) fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> LoadError {
    let problem = error.message().trim().to_owned();
    let mut field = match error.span() {
        Some(span) => path_at(text, span.start),
        None => String::new(),
    };
    // serde reports a missing field at the table that lacks it: name the
    // field itself, so the path says exactly what is missing.
    if let Some(missing) = missing_field(&problem)
        && !field.ends_with(&format!(".{missing}"))
    {
        field = if field.is_empty() {
            missing.to_owned()
        } else {
            format!("{field}.{missing}")
        };
    }
    if field.is_empty() {
        field = "(file)".to_owned();
    }
    LoadError::new(file, field, problem)
}

fn missing_field(problem: &str) -> Option<&str> {
    let rest = problem.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// The path of the table (and key, when the offset is on a `key = value`
/// line) that contains byte `offset` of a TOML text. Arrays of tables are
/// counted, so the third `[[steps]]` is `steps[2]`; `[[diagrams.elements]]`
/// is counted within its diagram.
pub(crate) fn path_at(text: &str, offset: usize) -> String {
    // Header path segments with their array index (None for plain tables).
    let mut header: Vec<(String, Option<usize>)> = Vec::new();
    // How many times each array-of-tables path has been opened so far.
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut current_key: Option<String> = None;
    let mut position = 0;
    for line in text.split_inclusive('\n') {
        position += line.len();
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|rest| rest.split("]]").next())
        {
            let names: Vec<&str> = name.split('.').map(str::trim).collect();
            header = resolve_header(&header, &names, true, &mut counts);
            current_key = None;
        } else if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
            .filter(|_| !trimmed.starts_with("[["))
        {
            let names: Vec<&str> = name.split('.').map(str::trim).collect();
            header = resolve_header(&header, &names, false, &mut counts);
            current_key = None;
        } else if let Some((key, _)) = trimmed.split_once('=') {
            let key = key.trim();
            if !key.is_empty() && !key.starts_with('#') && is_bare_key(key) {
                current_key = Some(key.to_owned());
            }
        }
        if offset < position || position == text.len() {
            let on_header = trimmed.starts_with('[');
            let mut path = render(&header);
            // A key whose value spans lines (an array) keeps its name.
            if !on_header && let Some(key) = &current_key {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            return path;
        }
    }
    render(&header)
}

fn is_bare_key(key: &str) -> bool {
    key.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn resolve_header(
    previous: &[(String, Option<usize>)],
    names: &[&str],
    array: bool,
    counts: &mut std::collections::HashMap<String, usize>,
) -> Vec<(String, Option<usize>)> {
    let mut resolved: Vec<(String, Option<usize>)> = Vec::new();
    for (depth, name) in names.iter().enumerate() {
        let last = depth + 1 == names.len();
        if last {
            if array {
                let parent = render(&resolved);
                let key = format!("{parent}/{name}");
                let count = counts.entry(key).or_insert(0);
                resolved.push(((*name).to_owned(), Some(*count)));
                *count += 1;
            } else {
                resolved.push(((*name).to_owned(), None));
            }
        } else {
            // A parent segment refers to the latest element of that array.
            let index = previous
                .get(depth)
                .filter(|(previous_name, _)| previous_name == name)
                .and_then(|(_, index)| *index);
            resolved.push(((*name).to_owned(), index));
        }
    }
    resolved
}

fn render(segments: &[(String, Option<usize>)]) -> String {
    let mut path = String::new();
    for (name, index) in segments {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        if let Some(index) = index {
            path.push_str(&format!("[{index}]"));
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::path_at;

    #[test]
    fn paths_count_arrays_of_tables_and_nested_ones_per_parent() {
        let text = "code = \"x\"\n[[steps]]\nnumber = 1\n[[steps]]\nnumber = 2\nduration = \"x\"\n[[diagrams]]\nnumber = 1\n[[diagrams.elements]]\nkind = \"p\"\n[[diagrams]]\nnumber = 2\n[[diagrams.elements]]\nkind = \"p\"\n[[diagrams.elements]]\nkind = \"q\"\n";
        let at = |needle: &str| path_at(text, text.find(needle).unwrap());
        assert_eq!(at("code"), "code");
        assert_eq!(at("duration"), "steps[1].duration");
        assert_eq!(at("kind = \"q\""), "diagrams[1].elements[1].kind");
        assert_eq!(
            at("[[diagrams.elements]]\nkind = \"p\"\n[[diagrams.elements]]"),
            "diagrams[1].elements[0]"
        );
    }
}
