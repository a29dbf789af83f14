//! Checks a parsed regulation beyond what serde checks: numbering, durations,
//! references between parts of the file, citations and notes.
//!
//! Each check returns the first problem as a [`LoadError`] naming the field.

use std::collections::{BTreeSet, HashSet};

use crate::duration;
use crate::error::LoadError;
use crate::model::{Channel, ElementKind, NOT_STATED, NoteKind, Regulation, Stage};

/// Validates `regulation`, loaded from `file` whose parsed TOML is `raw`.
pub(crate) fn regulation(
    file: &str,
    raw: &toml::Value,
    regulation: &Regulation,
) -> Result<(), LoadError> {
    let fail = |field: String, problem: String| Err(LoadError::new(file, field, problem));

    let stem = file.strip_suffix(".toml").unwrap_or(file);
    if regulation.code != stem {
        return fail(
            "code".into(),
            format!(
                "code `{}` does not match the file name `{file}`",
                regulation.code
            ),
        );
    }
    if !is_regulation_code(&regulation.code) {
        return fail(
            "code".into(),
            format!(
                "code `{}` is not of the form 003 or 004-01",
                regulation.code
            ),
        );
    }
    let seed = &regulation.code[..3];
    if !regulation.act.seed_file.starts_with(seed) || !regulation.act.seed_file.ends_with(".txt") {
        return fail(
            "act.seed_file".into(),
            format!(
                "`{}` is not a seed file of seed {seed}",
                regulation.act.seed_file
            ),
        );
    }
    let ru_origin = &regulation.names.ru_origin;
    if ru_origin != "translation" && !ru_origin.starts_with("seed ") {
        return fail(
            "names.ru_origin".into(),
            format!("`{ru_origin}` is neither `translation` nor a citation starting with `seed `"),
        );
    }

    channels(regulation).map_err(|(field, problem)| LoadError::new(file, field, problem))?;
    steps(regulation).map_err(|(field, problem)| LoadError::new(file, field, problem))?;
    documents(regulation).map_err(|(field, problem)| LoadError::new(file, field, problem))?;
    results_and_forms(regulation)
        .map_err(|(field, problem)| LoadError::new(file, field, problem))?;
    diagrams(regulation).map_err(|(field, problem)| LoadError::new(file, field, problem))?;
    complaints(regulation).map_err(|(field, problem)| LoadError::new(file, field, problem))?;
    citations_and_notes(raw, regulation)
        .map_err(|(field, problem)| LoadError::new(file, field, problem))?;
    Ok(())
}

type Check = Result<(), (String, String)>;

fn problem(field: impl Into<String>, problem: impl Into<String>) -> Check {
    Err((field.into(), problem.into()))
}

fn is_regulation_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    match bytes.len() {
        3 => digits(0..3),
        6 => digits(0..3) && bytes[3] == b'-' && digits(4..6),
        _ => false,
    }
}

fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && text.starts_with(|c: char| c.is_ascii_lowercase())
}

/// A duration that parses, or "not stated" where `allow_not_stated`.
fn duration(field: String, text: &str, allow_not_stated: bool) -> Check {
    if allow_not_stated && text == NOT_STATED {
        return Ok(());
    }
    if text.trim().is_empty() {
        return problem(field, "empty duration");
    }
    match duration::parse(text) {
        Ok(_) => Ok(()),
        Err(why) => problem(field, format!("duration `{text}` does not parse: {why}")),
    }
}

fn channels(regulation: &Regulation) -> Check {
    if regulation.channels.is_empty() {
        return problem("channels", "no channel: a regulation needs at least one");
    }
    let mut seen = HashSet::new();
    for (i, rule) in regulation.channels.iter().enumerate() {
        if !seen.insert(rule.channel) {
            return problem(
                format!("channels[{i}].channel"),
                format!("channel `{}` appears twice", rule.channel),
            );
        }
        if !rule.intake && !rule.issues_result {
            return problem(
                format!("channels[{i}]"),
                "a channel neither accepts applications nor issues results",
            );
        }
        duration(format!("channels[{i}].deadline"), &rule.deadline, true)?;
        let mut codes = HashSet::new();
        for (j, limit) in rule.limits.iter().enumerate() {
            // Only limits may be calendar months; deadlines and steps are
            // counted by the working calendar.
            if let Err(why) = duration::parse_period(&limit.duration) {
                return problem(
                    format!("channels[{i}].limits[{j}].duration"),
                    format!("duration `{}` does not parse: {why}", limit.duration),
                );
            }
            if let Some(code) = &limit.code
                && (!is_code(code) || !codes.insert(code.as_str()))
            {
                return problem(
                    format!("channels[{i}].limits[{j}].code"),
                    format!("`{code}` is not a unique snake_case code in this channel"),
                );
            }
        }
        if rule.issue.is_some() && !rule.issues_result {
            return problem(
                format!("channels[{i}].issue"),
                "a hand-over rule on a channel that issues no result",
            );
        }
    }
    if !regulation.channels.iter().any(|rule| rule.intake) {
        return problem("channels", "no channel accepts applications");
    }
    Ok(())
}

fn complaints(regulation: &Regulation) -> Check {
    let mut addressees = HashSet::new();
    for (i, complaint) in regulation.complaints.iter().enumerate() {
        if !is_code(&complaint.to) || !addressees.insert(complaint.to.as_str()) {
            return problem(
                format!("complaints[{i}].to"),
                format!("`{}` is not a unique snake_case code", complaint.to),
            );
        }
        duration(format!("complaints[{i}].term"), &complaint.term, false)?;
    }
    Ok(())
}

fn steps(regulation: &Regulation) -> Check {
    let mut last_stage: Option<Stage> = None;
    let mut examine_steps = 0;
    for (i, step) in regulation.steps.iter().enumerate() {
        let expected = i as u32 + 1;
        if step.number != expected {
            return problem(
                format!("steps[{i}].number"),
                format!(
                    "steps must be numbered 1, 2, 3 … in order without gaps: expected {expected}, found {}",
                    step.number
                ),
            );
        }
        if !step.actor.is_provider_staff() {
            return problem(
                format!("steps[{i}].actor"),
                format!("`{}` is not one of the provider's staff", step.actor),
            );
        }
        duration(format!("steps[{i}].duration"), &step.duration, false)?;
        if step.stages.is_empty() {
            return problem(
                format!("steps[{i}].stages"),
                "a step covers at least one stage",
            );
        }
        for stage in &step.stages {
            if let Some(last) = last_stage
                && (*stage < last || (*stage == last && step.stages.first() != Some(stage)))
            {
                return problem(
                    format!("steps[{i}].stages"),
                    format!(
                        "stage `{}` comes after `{}`: stages go register, assign, examine, sign, issue",
                        stage.code(),
                        last.code()
                    ),
                );
            }
            last_stage = Some(*stage);
        }
        if step.stages.contains(&Stage::Examine) {
            examine_steps += 1;
        }
    }
    if !regulation.steps.is_empty() && examine_steps != 1 {
        return problem(
            "steps",
            format!("exactly one step must examine the documents, found {examine_steps}"),
        );
    }
    Ok(())
}

fn channel_in(regulation: &Regulation, channel: Channel) -> bool {
    regulation.channel(channel).is_some()
}

fn documents(regulation: &Regulation) -> Check {
    let mut codes = HashSet::new();
    for (i, document) in regulation.documents.iter().enumerate() {
        if !is_code(&document.code) {
            return problem(
                format!("documents[{i}].code"),
                format!("`{}` is not a snake_case code", document.code),
            );
        }
        if !codes.insert(document.code.as_str()) {
            return problem(
                format!("documents[{i}].code"),
                format!("document code `{}` appears twice", document.code),
            );
        }
        for key in document.items.keys() {
            match Channel::from_code(key) {
                None => {
                    return problem(
                        format!("documents[{i}].items.{key}"),
                        format!("unknown channel `{key}`"),
                    );
                }
                Some(channel) if !channel_in(regulation, channel) => {
                    return problem(
                        format!("documents[{i}].items.{key}"),
                        format!("channel `{key}` is not a channel of this regulation"),
                    );
                }
                Some(_) => {}
            }
        }
        if document.items.is_empty() && !document.via_gateway {
            return problem(
                format!("documents[{i}].items"),
                "a document asked of nobody: give the channels' items or set via_gateway",
            );
        }
        if document.from_system.is_some() && !document.via_gateway {
            return problem(
                format!("documents[{i}].from_system"),
                "from_system is only for documents obtained via the gateway",
            );
        }
    }
    let mut grounds = HashSet::new();
    for (i, ground) in regulation.refusal_grounds.iter().enumerate() {
        if !is_code(&ground.code) {
            return problem(
                format!("refusal_grounds[{i}].code"),
                format!("`{}` is not a snake_case code", ground.code),
            );
        }
        if !grounds.insert(ground.code.as_str()) {
            return problem(
                format!("refusal_grounds[{i}].code"),
                format!("refusal ground code `{}` appears twice", ground.code),
            );
        }
        for (j, code) in ground.documents.iter().enumerate() {
            if !codes.contains(code.as_str()) {
                return problem(
                    format!("refusal_grounds[{i}].documents[{j}]"),
                    format!("unknown document `{code}`"),
                );
            }
        }
    }
    Ok(())
}

fn results_and_forms(regulation: &Regulation) -> Check {
    let mut forms = HashSet::new();
    for (i, form) in regulation.forms.iter().enumerate() {
        if !is_code(&form.code) || !forms.insert(form.code.as_str()) {
            return problem(
                format!("forms[{i}].code"),
                format!("`{}` is not a unique snake_case code", form.code),
            );
        }
        let mut names = HashSet::new();
        for (j, field) in form.fields.iter().enumerate() {
            if !is_code(&field.name) || !names.insert(field.name.as_str()) {
                return problem(
                    format!("forms[{i}].fields[{j}].name"),
                    format!("`{}` is not a unique snake_case name", field.name),
                );
            }
        }
    }
    if regulation.results.is_empty() {
        return problem("results", "no result document");
    }
    let mut codes = HashSet::new();
    for (i, result) in regulation.results.iter().enumerate() {
        if !is_code(&result.code) || !codes.insert(result.code.as_str()) {
            return problem(
                format!("results[{i}].code"),
                format!("`{}` is not a unique snake_case code", result.code),
            );
        }
        if let Some(form) = &result.form {
            // A bare code names a form of this file; prose points elsewhere.
            if is_code(form) && !forms.contains(form.as_str()) {
                return problem(
                    format!("results[{i}].form"),
                    format!("unknown form `{form}`"),
                );
            }
        }
        for (j, channel) in result.channels.iter().enumerate() {
            if !channel_in(regulation, *channel) {
                return problem(
                    format!("results[{i}].channels[{j}]"),
                    format!("channel `{channel}` is not a channel of this regulation"),
                );
            }
        }
    }
    if let Some(form) = regulation
        .refusal_to_accept
        .as_ref()
        .and_then(|refusal| refusal.form.as_ref())
        && !forms.contains(form.as_str())
    {
        return problem("refusal_to_accept.form", format!("unknown form `{form}`"));
    }
    Ok(())
}

fn diagrams(regulation: &Regulation) -> Check {
    let mut numbers = HashSet::new();
    for (i, diagram) in regulation.diagrams.iter().enumerate() {
        if !numbers.insert(diagram.number) {
            return problem(
                format!("diagrams[{i}].number"),
                format!("diagram {} appears twice", diagram.number),
            );
        }
        if !channel_in(regulation, diagram.channel) {
            return problem(
                format!("diagrams[{i}].channel"),
                format!(
                    "channel `{}` is not a channel of this regulation",
                    diagram.channel
                ),
            );
        }
        let mut ids = HashSet::new();
        let mut next = std::collections::HashMap::new();
        for (j, element) in diagram.elements.iter().enumerate() {
            let id = element.id();
            if !ids.insert(id.clone()) {
                return problem(
                    format!("diagrams[{i}].elements[{j}]"),
                    format!("`{id}` appears twice in diagram {}", diagram.number),
                );
            }
            // Processes and steps are numbered without gaps; conditions may
            // skip a number where the seed does (seed 004 service 6).
            if matches!(element.kind, ElementKind::Process | ElementKind::Step) {
                let expected = next.entry(element.kind).or_insert(1u32);
                if element.number != *expected {
                    return problem(
                        format!("diagrams[{i}].elements[{j}].number"),
                        format!(
                            "{}es must be numbered 1, 2, 3 … in order: expected {}, found {}",
                            element.kind.code(),
                            expected,
                            element.number
                        ),
                    );
                }
                *expected += 1;
            }
        }
        for (j, element) in diagram.elements.iter().enumerate() {
            match (&element.kind, &element.on_no) {
                (ElementKind::Condition, None) => {
                    return problem(
                        format!("diagrams[{i}].elements[{j}].on_no"),
                        "a condition needs on_no: the element taken when the check fails",
                    );
                }
                (ElementKind::Condition, Some(target)) if !ids.contains(target) => {
                    return problem(
                        format!("diagrams[{i}].elements[{j}].on_no"),
                        format!("`{target}` is not an element of diagram {}", diagram.number),
                    );
                }
                (kind, Some(_)) if *kind != ElementKind::Condition => {
                    return problem(
                        format!("diagrams[{i}].elements[{j}].on_no"),
                        "only a condition has on_no",
                    );
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Every `source` cites a seed line; every "not stated" has a silent note
/// about it; every note's `about` names a field of the file.
fn citations_and_notes(raw: &toml::Value, regulation: &Regulation) -> Check {
    let mut sources = Vec::new();
    let mut not_stated = Vec::new();
    walk(raw, String::new(), &mut |path, key, value| {
        if let toml::Value::String(text) = value {
            if key == Some("source") {
                sources.push((path.to_owned(), text.clone()));
            }
            if text == NOT_STATED {
                not_stated.push(path.to_owned());
            }
        }
    });
    for (path, text) in sources {
        if !(text.starts_with("seed ") && text.contains("line")) {
            return problem(
                path,
                format!("source `{text}` does not cite a seed and line (\"seed 003 §5, line 31\")"),
            );
        }
    }
    let silent_about: BTreeSet<&str> = regulation
        .notes
        .iter()
        .filter(|note| note.kind == NoteKind::Silent)
        .filter_map(|note| note.about.as_deref())
        .collect();
    for path in not_stated {
        if !silent_about.contains(path.as_str()) {
            return problem(
                path,
                "\"not stated\" needs a [[notes]] entry of kind \"silent\" about this field",
            );
        }
    }
    for (i, note) in regulation.notes.iter().enumerate() {
        if let Some(about) = &note.about {
            // An absent list or table (the seed has none) can still be the
            // subject of a silent note.
            if lookup(raw, about).is_none() && !SECTIONS.contains(&about.as_str()) {
                return problem(
                    format!("notes[{i}].about"),
                    format!("`{about}` names no field of this file"),
                );
            }
        }
        if note.kind == NoteKind::Contradiction {
            if note.readings.len() < 2 {
                return problem(
                    format!("notes[{i}].readings"),
                    "a contradiction records both readings",
                );
            }
            if note.mesh_uses.as_deref().is_none_or(str::is_empty) {
                return problem(
                    format!("notes[{i}].mesh_uses"),
                    "a contradiction says which reading the mesh uses",
                );
            }
        }
    }
    Ok(())
}

/// The optional top-level parts of a regulation file.
const SECTIONS: [&str; 8] = [
    "steps",
    "complaints",
    "documents",
    "refusal_grounds",
    "refusal_to_accept",
    "forms",
    "diagrams",
    "notes",
];

/// Calls `visit(path, key, value)` for every value under `value`.
fn walk(
    value: &toml::Value,
    path: String,
    visit: &mut dyn FnMut(&str, Option<&str>, &toml::Value),
) {
    match value {
        toml::Value::Table(table) => {
            for (key, child) in table {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                visit(&child_path, Some(key), child);
                walk(child, child_path, visit);
            }
        }
        toml::Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let child_path = format!("{path}[{index}]");
                visit(&child_path, None, child);
                walk(child, child_path, visit);
            }
        }
        _ => {}
    }
}

/// The value at a path such as `diagrams[1].elements[7].text`.
pub(crate) fn lookup<'a>(root: &'a toml::Value, path: &str) -> Option<&'a toml::Value> {
    let mut value = root;
    for segment in path.split('.') {
        let (name, indices) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            value = value.as_table()?.get(name)?;
        }
        for index in indices.split('[').skip(1) {
            let index: usize = index.strip_suffix(']')?.parse().ok()?;
            value = value.as_array()?.get(index)?;
        }
    }
    Some(value)
}
