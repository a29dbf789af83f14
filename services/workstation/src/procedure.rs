//! The staff procedure of an application, read from its regulation: which
//! tasks, in which order, by which role, due when; and the document rules
//! the conformity check (and the autopilot) apply. Nothing here knows one
//! service from another: every regulation goes through the same functions.
//!
//! # From steps to tasks
//!
//! Each step of `regulations/<code>.toml` covers one or more stages
//! (register, assign, examine, sign, issue); each (step, stage) is a task,
//! done by the step's actor — except `sign`, which is always the head's:
//! the result is "signed with the EDS of the provider's authorised person"
//! (seed 002 Rules p.10, line 21; seed 003 §11 process 8, line 143; seed 001
//! p.6 action 2, the head's signature), and the seeds of 004 fold that
//! signature into the specialist's step (egov-regulations, "Refinements").
//! A task is due when its step is due in the regulation's deadline plan
//! (`egov_regulations::plan`, the provider's schedule of the working
//! calendar, from the time of registration).
//!
//! A regulation with no staff steps (seed 000: "not rendered through the
//! provider's structural units", the processing being §7 step 4 of the
//! workstation) gets the automatic procedure: examine, sign, issue by the
//! workstation itself, due when the result is due. The same automatic
//! procedure forms the office channel's refusal (seed 003 §11 diagram 3,
//! process 7).

use crate::role::Role;
use chrono::{DateTime, Utc};
use egov_calendar::Calendar;
use egov_regulations::{
    Channel, Document, ElementKind, PlanError, Regulation, ResultDocument, ResultKind, Stage,
    System,
};
use std::collections::HashSet;

/// One task of an application's procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTask {
    /// 1, 2, 3 … in order.
    pub position: u32,
    /// The regulation's step number (0 for the automatic procedure).
    pub step: u32,
    pub stage: Stage,
    pub role: Role,
    pub action: String,
    pub source: String,
    pub due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Procedure {
    pub tasks: Vec<PlannedTask>,
    /// The channel's deadline for the result, where the regulation states one.
    pub result_due: Option<DateTime<Utc>>,
    /// What the applicant is told to expect: the result's due time, or,
    /// where the regulation states no deadline, the end of the staff steps.
    pub expected: Option<DateTime<Utc>>,
}

/// Checked at start-up: the working calendar can plan an application
/// registered `now` — it has the current year, and every regulation's
/// deadlines through every intake channel end within the years it has. A
/// year without holiday data is thus an error the operator sees when the
/// service starts (naming the year to add), not at the first application.
pub fn check_calendar(
    regulations: &egov_regulations::Registry,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Result<(), String> {
    egov_regulations::check_calendar(regulations, calendar, now, |rule| rule.intake)
}

/// The procedure of an application of `regulation` through `channel`,
/// registered at `registered_at`.
pub fn plan(
    regulation: &Regulation,
    channel: Channel,
    registered_at: DateTime<Utc>,
    calendar: &Calendar,
) -> Result<Procedure, PlanError> {
    let plan = egov_regulations::plan(regulation, channel, registered_at, calendar)?;
    if regulation.steps.is_empty() {
        let tasks = automatic(regulation, channel, plan.result_due);
        return Ok(Procedure {
            expected: plan.result_due,
            result_due: plan.result_due,
            tasks,
        });
    }
    let mut tasks: Vec<PlannedTask> = Vec::new();
    for (step, planned) in regulation.steps.iter().zip(&plan.steps) {
        let actor = Role::from_actor(step.actor).unwrap_or(Role::Workstation);
        for stage in &step.stages {
            tasks.push(PlannedTask {
                position: 0,
                step: step.number,
                stage: *stage,
                role: if *stage == Stage::Sign {
                    Role::Head
                } else {
                    actor
                },
                action: step.action.clone(),
                source: step.source.clone(),
                due: Some(planned.due),
            });
        }
    }
    // Every procedure ends with the head's signature and the issue, even
    // where a regulation's steps do not name them (none of the 15 acts
    // omits them today; the loader does not require them).
    let has = |tasks: &[PlannedTask], stage| tasks.iter().any(|t| t.stage == stage);
    if !has(&tasks, Stage::Sign) {
        let examine = tasks
            .iter()
            .position(|t| t.stage == Stage::Examine)
            .unwrap_or(tasks.len() - 1);
        let at = &tasks[examine];
        let sign = PlannedTask {
            stage: Stage::Sign,
            role: Role::Head,
            action:
                "the head signs the result with the provider's EDS (the steps name no signature)"
                    .into(),
            ..at.clone()
        };
        tasks.insert(examine + 1, sign);
    }
    if !has(&tasks, Stage::Issue) {
        let last = tasks.last().expect("at least the sign task").clone();
        tasks.push(PlannedTask {
            stage: Stage::Issue,
            action: "the result is issued (the steps name no issue)".into(),
            ..last
        });
    }
    for (i, task) in tasks.iter_mut().enumerate() {
        task.position = i as u32 + 1;
    }
    Ok(Procedure {
        expected: plan.result_due.or(plan.steps_due),
        result_due: plan.result_due,
        tasks,
    })
}

/// The workstation's own procedure: examine, sign, issue, with no staff.
pub fn automatic(
    regulation: &Regulation,
    channel: Channel,
    due: Option<DateTime<Utc>>,
) -> Vec<PlannedTask> {
    // The diagram's element done by the workstation, for the citation.
    let element = regulation
        .diagrams
        .iter()
        .filter(|d| d.channel == channel)
        .flat_map(|d| d.elements.iter())
        .find(|e| e.system == System::Workstation);
    let (text, source) = match element {
        Some(e) => (e.text.clone(), e.source.clone()),
        None => (
            "the workstation processes the request".to_owned(),
            regulation.act.source.clone(),
        ),
    };
    [Stage::Examine, Stage::Sign, Stage::Issue]
        .into_iter()
        .enumerate()
        .map(|(i, stage)| PlannedTask {
            position: i as u32 + 1,
            step: 0,
            stage,
            role: Role::Workstation,
            action: text.clone(),
            source: source.clone(),
            due,
        })
        .collect()
}

// === documents and grounds ===

/// A ground a refusal names: from the regulation's list, or one of the
/// mesh's two (see [`INCOMPLETE_PACKAGE`], [`DATA_NOT_CONFIRMED`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ground {
    pub code: String,
    pub text: String,
    pub source: String,
}

/// The package lacks a document the Standard requires and no ground of the
/// regulation's list concerns it: seed 002 Rules p.9 ("в случае
/// представления неполного пакета документов … услугодатель отказывает"),
/// the regulation's `[refusal_to_accept]` where it has one, otherwise the
/// diagram's document check (e.g. seed 001 §11 condition 3 → process 7).
pub const INCOMPLETE_PACKAGE: &str = "incomplete_package";

/// The office channel: ЖТ МДБ does not confirm the applicant's data (seed
/// 003 §11 diagram 3, condition 2 → process 7, lines 160-162).
pub const DATA_NOT_CONFIRMED: &str = "applicant_data_not_confirmed";

/// The documents the applicant must attach through `channel`: those listed
/// for the channel, except what the provider obtains through the gateway
/// and what is needed only under a condition the rules cannot judge (a
/// specialist may still refuse for it).
pub fn required_documents(regulation: &Regulation, channel: Channel) -> Vec<&Document> {
    regulation
        .documents
        .iter()
        .filter(|d| d.items.contains_key(channel.code()) && !d.via_gateway && d.condition.is_none())
        .collect()
}

/// The required documents not among `present` (codes).
pub fn missing_documents<'r>(
    regulation: &'r Regulation,
    channel: Channel,
    present: &HashSet<String>,
) -> Vec<&'r Document> {
    required_documents(regulation, channel)
        .into_iter()
        .filter(|d| !present.contains(&d.code))
        .collect()
}

/// The grounds a refusal for `missing` documents names: each ground of the
/// regulation that concerns a missing document, and the incomplete package
/// for documents no ground concerns.
pub fn grounds_for_missing(
    regulation: &Regulation,
    channel: Channel,
    missing: &[&Document],
) -> Vec<Ground> {
    let mut grounds: Vec<Ground> = regulation
        .refusal_grounds
        .iter()
        .filter(|g| missing.iter().any(|d| g.documents.contains(&d.code)))
        .map(|g| Ground {
            code: g.code.clone(),
            text: g.en.clone(),
            source: g.source.clone(),
        })
        .collect();
    let uncovered = missing.iter().any(|d| {
        !regulation
            .refusal_grounds
            .iter()
            .any(|g| g.documents.contains(&d.code))
    });
    if uncovered {
        grounds.push(incomplete_package(regulation, channel));
    }
    grounds
}

pub fn incomplete_package(regulation: &Regulation, channel: Channel) -> Ground {
    let (text, source) = match &regulation.refusal_to_accept {
        Some(rule) => (
            format!("incomplete package: {}", rule.when),
            rule.source.clone(),
        ),
        None => {
            let check = document_check(regulation, channel);
            (
                "incomplete package: the documents attached do not meet the Standard's item 9"
                    .to_owned(),
                check
                    .map(|(_, source)| source)
                    .unwrap_or_else(|| regulation.act.source.clone()),
            )
        }
    };
    Ground {
        code: INCOMPLETE_PACKAGE.into(),
        text,
        source,
    }
}

pub fn data_not_confirmed(regulation: &Regulation) -> Ground {
    let source = regulation
        .diagram(3)
        .and_then(|d| d.element("condition 2"))
        .map(|e| e.source.clone())
        .unwrap_or_else(|| "seed 003 §11 (provider's flow), condition 2, line 160".into());
    Ground {
        code: DATA_NOT_CONFIRMED.into(),
        text:
            "the applicant's data are not confirmed by the state database of individuals (ЖТ МДБ)"
                .into(),
        source,
    }
}

/// A ground by code: the regulation's, or the mesh's two.
pub fn ground(regulation: &Regulation, channel: Channel, code: &str) -> Option<Ground> {
    if let Some(g) = regulation.refusal_grounds.iter().find(|g| g.code == code) {
        return Some(Ground {
            code: g.code.clone(),
            text: g.en.clone(),
            source: g.source.clone(),
        });
    }
    match code {
        INCOMPLETE_PACKAGE => Some(incomplete_package(regulation, channel)),
        DATA_NOT_CONFIRMED if channel == Channel::ProviderOffice => {
            Some(data_not_confirmed(regulation))
        }
        _ => None,
    }
}

/// The workstation's document check in the channel's diagram (the
/// condition it performs) and the element its failure leads to, as
/// "diagram 2, condition 3" and the refusal element's source.
fn document_check(regulation: &Regulation, channel: Channel) -> Option<(String, String)> {
    let diagram = regulation.diagrams.iter().find(|d| d.channel == channel)?;
    // The last of the workstation's checks: diagram 3 checks the employee's
    // login first (condition 1), the applicant's data last (condition 2).
    let condition = diagram
        .elements
        .iter()
        .rev()
        .filter(|e| e.kind == ElementKind::Condition && e.system == System::Workstation)
        .find(|e| e.on_no.is_some())?;
    let refusal = diagram.element(condition.on_no.as_deref()?)?;
    Some((
        format!(
            "diagram {}, {} → {}",
            diagram.number,
            condition.id(),
            refusal.id()
        ),
        refusal.source.clone(),
    ))
}

/// The diagram element that forms a refusal through `channel`, cited.
pub fn refusal_element(regulation: &Regulation, channel: Channel) -> String {
    match document_check(regulation, channel) {
        Some((element, source)) => format!("{element} ({source})"),
        None => match refusal_result(regulation) {
            Some(result) => format!("the regulation's reasoned refusal ({})", result.source),
            None => format!(
                "the regulation's document check ({})",
                regulation.act.source
            ),
        },
    }
}

/// The regulation's refusal result, if it lists one.
pub fn refusal_result(regulation: &Regulation) -> Option<&ResultDocument> {
    regulation
        .results
        .iter()
        .find(|r| r.kind == ResultKind::Refusal)
}

/// The result an approval produces: `code` if given, else the first
/// non-refusal result given through `channel`.
pub fn approval_result<'r>(
    regulation: &'r Regulation,
    channel: Channel,
    code: Option<&str>,
) -> Option<&'r ResultDocument> {
    regulation.results.iter().find(|r| {
        r.kind != ResultKind::Refusal
            && r.channels.contains(&channel)
            && code.is_none_or(|c| c == r.code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_regulations::Registry;

    fn registry() -> Registry {
        Registry::embedded().expect("the regulations load")
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn each_stage_of_each_step_is_a_task_and_the_head_signs() {
        let registry = registry();
        let seed003 = registry.get("003").unwrap();
        let procedure = plan(
            seed003,
            Channel::Portal,
            at("2026-11-23T05:00:00Z"),
            &Calendar::embedded(),
        )
        .unwrap();
        let shape: Vec<(u32, Stage, Role)> = procedure
            .tasks
            .iter()
            .map(|t| (t.step, t.stage, t.role))
            .collect();
        assert_eq!(
            shape,
            vec![
                (1, Stage::Register, Role::OfficeClerk),
                (2, Stage::Assign, Role::Head),
                (3, Stage::Examine, Role::Specialist),
                (4, Stage::Sign, Role::Head),
                (5, Stage::Issue, Role::OfficeClerk),
            ]
        );
        // Seed 002's single step is the specialist's, but its signature is
        // the authorised person's (p.10).
        let seed002 = registry.get("002").unwrap();
        let procedure = plan(
            seed002,
            Channel::Portal,
            at("2026-11-23T05:00:00Z"),
            &Calendar::embedded(),
        )
        .unwrap();
        let roles: Vec<(Stage, Role)> = procedure.tasks.iter().map(|t| (t.stage, t.role)).collect();
        assert_eq!(
            roles,
            vec![
                (Stage::Register, Role::Specialist),
                (Stage::Examine, Role::Specialist),
                (Stage::Sign, Role::Head),
                (Stage::Issue, Role::Specialist),
            ]
        );
    }

    #[test]
    fn task_due_times_are_the_deadline_plans_step_due_times() {
        let registry = registry();
        let calendar = Calendar::embedded();
        for regulation in registry.iter() {
            for rule in &regulation.channels {
                let registered = at("2026-11-27T12:40:00Z");
                let procedure = plan(regulation, rule.channel, registered, &calendar).unwrap();
                let expected =
                    egov_regulations::plan(regulation, rule.channel, registered, &calendar)
                        .unwrap();
                for task in &procedure.tasks {
                    let due = match expected.steps.iter().find(|s| s.number == task.step) {
                        Some(step) => Some(step.due),
                        None => expected.result_due,
                    };
                    assert_eq!(task.due, due, "{} {:?}", regulation.code, task);
                }
            }
        }
    }

    #[test]
    fn a_regulation_without_staff_steps_gets_the_automatic_procedure() {
        let registry = registry();
        let seed000 = registry.get("000").unwrap();
        let procedure = plan(
            seed000,
            Channel::Portal,
            at("2026-11-23T05:00:00Z"),
            &Calendar::embedded(),
        )
        .unwrap();
        assert!(procedure.tasks.iter().all(|t| t.role == Role::Workstation));
        assert_eq!(procedure.tasks.len(), 3);
        assert!(procedure.tasks[0].source.contains("seed 000 §7 4)"));
    }

    #[test]
    fn a_missing_document_names_the_ground_that_concerns_it_or_the_incomplete_package() {
        let registry = registry();
        let seed002 = registry.get("002").unwrap();
        let required: Vec<&str> = required_documents(seed002, Channel::Portal)
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(
            required,
            vec![
                "application",
                "parental_care_absence_documents",
                "bank_account_contract",
                "child_income_documents"
            ]
        );
        let present: HashSet<String> = ["application", "parental_care_absence_documents"]
            .into_iter()
            .map(String::from)
            .collect();
        let missing = missing_documents(seed002, Channel::Portal, &present);
        let grounds: Vec<String> = grounds_for_missing(seed002, Channel::Portal, &missing)
            .into_iter()
            .map(|g| g.code)
            .collect();
        assert_eq!(
            grounds,
            vec!["income_exceeds_upkeep_costs", INCOMPLETE_PACKAGE]
        );
        let seed001 = registry.get("001").unwrap();
        assert_eq!(
            refusal_element(seed001, Channel::Portal),
            "diagram 2, condition 3 → process 7 (seed 001 §11 11), line 73)"
        );
    }
}
