//! `egovctl regulations list|show <code>`: the regulations of the public
//! services as the mesh runs them, read from the `regulations/` data files
//! (the copy built into the binary, or `--dir`).

use std::path::PathBuf;

use anyhow::Context;
use egov_regulations::{Channel, NOT_STATED, Registry, Regulation};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// Read the regulation files from this directory instead of the copy
    /// built into egovctl.
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// One line per regulation: code, channels, steps, deadlines, name.
    List,
    /// The business-process directory of one service: steps, actors,
    /// durations, deadlines per channel, documents, refusal grounds, results,
    /// diagrams and notes.
    Show {
        /// The regulation's code: 000, 001, 002, 003, 004-01 … 004-11.
        code: String,
    },
    /// The coverage map of the diagrams: reads the walks the scenario tests
    /// recorded (`*.walks` files in DIR, lines `walk <regulation> <diagram>
    /// <branch> <test>`), prints `coverage <regulation> <diagram>
    /// <covered>/<total>` per diagram and each element no test passed;
    /// exits 1 if any element is uncovered.
    Coverage {
        /// Where the scenario tests wrote their walks.
        walks: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let registry = load(args.dir.as_ref())?;
    match args.command {
        Command::List if crate::output::json() => {
            let all: Vec<&Regulation> = registry.iter().collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
        Command::List => print!("{}", list(&registry)),
        Command::Coverage { walks } => coverage(&registry, &walks, crate::output::json())?,
        Command::Show { code } => {
            let regulation = find(&registry, &code)?;
            if crate::output::json() {
                println!("{}", serde_json::to_string_pretty(regulation)?);
            } else {
                print!("{}", show(regulation));
            }
        }
    }
    Ok(())
}

fn coverage(registry: &Registry, dir: &PathBuf, json: bool) -> anyhow::Result<()> {
    let mut walks = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "reading the walks in {} (run the scenario tests first)",
            dir.display()
        )
    })?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "walks") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            walks.push(
                line.parse::<egov_regulations::Walk>()
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
            );
        }
    }
    let map = egov_regulations::coverage(registry, &walks).map_err(|e| anyhow::anyhow!(e))?;
    let uncovered: usize = map.iter().map(|d| d.uncovered.len()).sum();
    if json {
        let rows: Vec<serde_json::Value> = map
            .iter()
            .map(|d| {
                serde_json::json!({
                    "regulation": d.regulation, "diagram": d.diagram,
                    "covered": d.covered, "total": d.total, "uncovered": d.uncovered,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for diagram in &map {
            println!("{diagram}");
            for element in &diagram.uncovered {
                println!("  uncovered: {element}");
            }
        }
        println!(
            "{} walks by the scenario tests; {} diagrams; {uncovered} elements uncovered",
            walks.len(),
            map.len()
        );
    }
    if uncovered > 0 {
        anyhow::bail!("{uncovered} diagram elements are exercised by no scenario test");
    }
    Ok(())
}

/// The regulations from `dir`, or the ones built into the binary.
pub fn load(dir: Option<&PathBuf>) -> anyhow::Result<Registry> {
    match dir {
        Some(dir) => egov_regulations::load_dir(dir)
            .with_context(|| format!("loading the regulations in {}", dir.display())),
        None => Registry::embedded().context("loading the built-in regulations"),
    }
}

pub fn find<'a>(registry: &'a Registry, code: &str) -> anyhow::Result<&'a Regulation> {
    registry.get(code).with_context(|| {
        let codes: Vec<&str> = registry.iter().map(|r| r.code.as_str()).collect();
        format!("no regulation `{code}`; the codes are {}", codes.join(", "))
    })
}

fn list(registry: &Registry) -> String {
    let mut table = Table::new(["CODE", "CHANNELS", "STEPS", "DEADLINES", "SERVICE"]);
    for regulation in registry.iter() {
        let channels: Vec<&str> = regulation
            .channels
            .iter()
            .map(|rule| short_channel(rule.channel))
            .collect();
        let mut deadlines: Vec<&str> = regulation
            .channels
            .iter()
            .map(|rule| rule.deadline.as_str())
            .collect();
        deadlines.dedup();
        table.row([
            regulation.code.clone(),
            channels.join(","),
            regulation.steps.len().to_string(),
            deadlines.join(" / "),
            regulation.names.en.clone(),
        ]);
    }
    table.render("") + "\n"
}

fn short_channel(channel: Channel) -> &'static str {
    match channel {
        Channel::Portal => "portal",
        Channel::StateCorporation => "sc",
        Channel::ProviderOffice => "office",
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn show(regulation: &Regulation) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("{}  {}", regulation.code, regulation.names.en));
    line(format!("     kk: {}", regulation.names.kk));
    let ru_origin = if regulation.names.ru_origin == "translation" {
        " (translation)".to_owned()
    } else {
        String::new()
    };
    line(format!("     ru: {}{ru_origin}", regulation.names.ru));
    line(format!(
        "Act:       {}, {}",
        regulation.act.seed_file, regulation.act.paragraph
    ));
    line(format!("Provider:  {}", regulation.provider.en));
    line(String::new());

    line("Channels and deadlines".to_owned());
    let mut channels = Table::new(["CHANNEL", "INTAKE", "RESULT", "DEADLINE", "DAY OF INTAKE"]);
    for rule in &regulation.channels {
        channels.row([
            rule.channel.to_string(),
            yes_no(rule.intake).to_owned(),
            yes_no(rule.issues_result).to_owned(),
            rule.deadline.clone(),
            if rule.intake_day_counts {
                "counts"
            } else {
                "not counted"
            }
            .to_owned(),
        ]);
    }
    line(channels.render("  "));
    for rule in &regulation.channels {
        for limit in &rule.limits {
            line(format!(
                "  {}: {} — {}",
                rule.channel, limit.duration, limit.what
            ));
        }
    }
    line(String::new());

    line("Staff steps".to_owned());
    if regulation.steps.is_empty() {
        line("  none (see the notes)".to_owned());
    } else {
        let mut steps = Table::new(["#", "ACTOR", "DURATION", "STAGES", "ACTION"]);
        for step in &regulation.steps {
            let stages: Vec<&str> = step.stages.iter().map(|s| s.code()).collect();
            steps.row([
                step.number.to_string(),
                step.actor.to_string(),
                step.duration.clone(),
                stages.join(","),
                step.action.clone(),
            ]);
        }
        line(steps.render("  "));
    }
    line(String::new());

    line("Documents".to_owned());
    if regulation.documents.is_empty() {
        line("  none listed (see the notes)".to_owned());
    }
    for document in &regulation.documents {
        let mut where_from: Vec<String> = document
            .items
            .iter()
            .map(|(channel, item)| format!("{channel}: {item}"))
            .collect();
        if document.via_gateway {
            let from = document
                .from_system
                .map(|system| format!(" from {system}"))
                .unwrap_or_default();
            where_from.push(format!("via the gateway{from}"));
        }
        line(format!("  {:<32} {}", document.code, document.en));
        line(format!("  {:<32} [{}]", "", where_from.join("; ")));
        if let Some(condition) = &document.condition {
            line(format!("  {:<32} only: {condition}", ""));
        }
    }
    line(String::new());

    line("Grounds for refusal".to_owned());
    if regulation.refusal_grounds.is_empty() {
        line("  none stated in the seed (see the notes)".to_owned());
    }
    for (i, ground) in regulation.refusal_grounds.iter().enumerate() {
        line(format!("  {}. {} — {}", i + 1, ground.code, ground.en));
    }
    if let Some(refusal) = &regulation.refusal_to_accept {
        line(format!(
            "  Refusal to accept ({}): {}; {}",
            refusal.by, refusal.when, refusal.receipt
        ));
    }
    line(String::new());

    line("Results".to_owned());
    for result in &regulation.results {
        let channels: Vec<String> = result.channels.iter().map(|c| c.to_string()).collect();
        line(format!(
            "  {} ({}) — {} [{}]",
            result.code,
            result.kind.code(),
            result.en,
            channels.join(", ")
        ));
        if let Some(form) = &result.form {
            line(format!("    form: {form}"));
        }
        line(format!("    delivery: {}", result.delivery));
    }
    for form in &regulation.forms {
        line(format!("  Form {}: {}", form.code, form.en));
        for field in &form.fields {
            line(format!(
                "    {:<30} {:<12} {}",
                field.name,
                field.field_type.code(),
                field.en
            ));
        }
    }
    line(String::new());

    line("Interaction diagrams".to_owned());
    if regulation.diagrams.is_empty() {
        line("  none (see the notes)".to_owned());
    }
    for diagram in &regulation.diagrams {
        line(format!(
            "  Diagram {} ({}): {} [{}]",
            diagram.number, diagram.channel, diagram.en, diagram.seed_label
        ));
        let mut elements = Table::new(["ELEMENT", "SYSTEM", "ACTOR", "TO", "IF NO", "WHAT"]);
        for element in &diagram.elements {
            let system = if element.system_stated {
                element.system.to_string()
            } else {
                format!("{}*", element.system)
            };
            let to: Vec<String> = element.to.iter().map(|s| s.to_string()).collect();
            elements.row([
                element.id(),
                system,
                element.actor.map(|a| a.to_string()).unwrap_or_default(),
                to.join(","),
                element.on_no.clone().unwrap_or_default(),
                element.text.clone(),
            ]);
        }
        line(elements.render("    "));
    }
    if regulation
        .diagrams
        .iter()
        .any(|d| d.elements.iter().any(|e| !e.system_stated))
    {
        line("    * the seed does not name the system; the mesh's reading".to_owned());
    }
    line(String::new());

    line("Notes".to_owned());
    for note in &regulation.notes {
        let about = note
            .about
            .as_deref()
            .map(|about| format!(" ({about})"))
            .unwrap_or_default();
        line(format!("  [{}]{about} {}", note.kind.code(), note.text));
        for reading in &note.readings {
            line(format!("      reading: {reading}"));
        }
        if let Some(choice) = &note.mesh_uses {
            line(format!("      the mesh uses: {choice}"));
        }
    }
    if regulation
        .channels
        .iter()
        .any(|rule| rule.deadline == NOT_STATED)
    {
        line("  \"not stated\": the seed is silent; see the silent notes above.".to_owned());
    }
    out
}

/// A text table whose columns are as wide as their widest cell; the last
/// column is not padded. `render` ends without a newline.
pub struct Table<const N: usize> {
    header: [String; N],
    rows: Vec<[String; N]>,
}

impl<const N: usize> Table<N> {
    pub fn new(header: [&str; N]) -> Self {
        Table {
            header: header.map(str::to_owned),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: [String; N]) {
        self.rows.push(cells);
    }

    pub fn render(&self, indent: &str) -> String {
        let mut widths = [0usize; N];
        for cells in std::iter::once(&self.header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(cells) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for cells in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = indent.to_owned();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == N {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    let pad = widths[i] - cell.chars().count() + 2;
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.truncate(out.trim_end_matches('\n').len());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(code: &str) -> String {
        let registry = Registry::embedded().unwrap();
        show(registry.get(code).unwrap())
    }

    #[test]
    fn show_003_prints_the_five_staff_steps_and_the_thirty_day_deadline() {
        let text = shown("003");
        let steps: Vec<&str> = text
            .lines()
            .skip_while(|line| *line != "Staff steps")
            .skip(2)
            .take_while(|line| !line.is_empty())
            .collect();
        assert_eq!(steps.len(), 5, "{text}");
        let durations = [
            "30 min",
            "20 min",
            "28 calendar days",
            "1 calendar day",
            "30 min",
        ];
        for (line, duration) in steps.iter().zip(durations) {
            assert!(line.contains(&format!("  {duration}  ")), "{line}");
        }
        for channel in ["provider_office", "state_corporation", "portal"] {
            assert!(
                text.lines()
                    .any(|line| line.contains(channel) && line.contains("30 calendar days")),
                "{text}"
            );
        }
    }

    #[test]
    fn show_002_prints_its_six_grounds_for_refusal() {
        let text = shown("002");
        let grounds: Vec<&str> = text
            .lines()
            .skip_while(|line| *line != "Grounds for refusal")
            .skip(1)
            .take_while(|line| !line.trim_start().starts_with("Refusal to accept"))
            .collect();
        assert_eq!(grounds.len(), 6, "{text}");
        assert!(grounds[5].starts_with("  6. court_deprived_special_right"));
    }

    #[test]
    fn list_has_a_line_per_regulation() {
        let registry = Registry::embedded().unwrap();
        assert_eq!(list(&registry).lines().count(), 16);
    }
}
