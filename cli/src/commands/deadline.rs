//! `egovctl deadline <code> --channel <channel> --at <time>`: when the result
//! of an application is due, and each staff step, on the Kazakh working
//! calendar (`egov-calendar`), shown in Asia/Almaty time.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use egov_calendar::{Calendar, local_to_utc, to_local};
use egov_regulations::{Channel, DeadlinePlan, plan};

use super::regulations::{Table, find, load};

#[derive(clap::Args)]
pub struct Args {
    /// The regulation's code: 000, 001, 002, 003, 004-01 … 004-11.
    code: String,
    /// portal, state_corporation or provider_office.
    #[arg(long, value_parser = parse_channel)]
    channel: Channel,
    /// Time of intake: RFC 3339 ("2026-11-23T10:00:00+05:00") or local
    /// Asia/Almaty time ("2026-11-23 10:00").
    #[arg(long, value_parser = parse_time)]
    at: DateTime<Utc>,
    /// Read the regulation files from this directory instead of the copy
    /// built into egovctl.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

fn parse_channel(text: &str) -> Result<Channel, String> {
    Channel::from_code(text).ok_or_else(|| {
        format!("unknown channel `{text}`: use portal, state_corporation or provider_office")
    })
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Ok(moment.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return local_to_utc(local).map_err(|error| error.to_string());
        }
    }
    Err(format!(
        "cannot read the time `{text}`: use RFC 3339 or local \"2026-11-23 10:00\""
    ))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let registry = load(args.dir.as_ref())?;
    let regulation = find(&registry, &args.code)?;
    let calendar = Calendar::try_embedded().context("loading the working calendar")?;
    let plan = plan(regulation, args.channel, args.at, &calendar)?;
    if crate::output::json() {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", render(&plan, &regulation.names.en));
    }
    Ok(())
}

/// "Mon 2026-11-23 10:00" in Asia/Almaty.
fn local(moment: DateTime<Utc>) -> String {
    to_local(moment).format("%a %Y-%m-%d %H:%M").to_string()
}

fn render(plan: &DeadlinePlan, name: &str) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("{}  {name}", plan.code));
    line(format!(
        "Channel:     {} (deadline {}, the day of intake {})",
        plan.channel,
        plan.deadline,
        if plan.intake_day_counts {
            "counts"
        } else {
            "is not counted"
        }
    ));
    line(format!("Intake:      {} Asia/Almaty", local(plan.intake)));
    line(String::new());
    if plan.steps.is_empty() {
        line("No staff steps in this regulation.".to_owned());
    } else {
        let mut table = Table::new(["#", "ACTOR", "DURATION", "STARTS", "DUE", "ACTION"]);
        for step in &plan.steps {
            table.row([
                step.number.to_string(),
                step.actor.to_string(),
                step.duration.clone(),
                local(step.starts),
                local(step.due),
                step.action.clone(),
            ]);
        }
        line(table.render("  "));
    }
    line(String::new());
    match plan.result_due {
        Some(due) => line(format!("Result due:  {} Asia/Almaty", local(due))),
        None => line(format!(
            "Result due:  not stated in the seed (egovctl regulations show {} explains)",
            plan.code
        )),
    }
    if let Some(steps_due) = plan.steps_due {
        line(format!("Steps end:   {} Asia/Almaty", local(steps_due)));
    }
    if plan.steps_overrun_deadline() {
        line("Warning:     the regulation's own steps end after its deadline.".to_owned());
    }
    out
}
