//! What one application did, read from the gateway's log of its
//! conversation and laid over its diagram: which elements it passed and
//! when, and how long each staff step took against the regulation's budget.

use chrono::{DateTime, Utc};
use egov_calendar::Calendar;
use egov_proto::envelope::{DeliveryStatus, Kind};
use egov_proto::gateway::TraceEntry;
use egov_proto::{services, workstation as ws};
use egov_regulations::{Branch, Channel, Diagram, ElementKind, Registry, System};

/// The application's path.
#[derive(Debug, Clone)]
pub struct Path {
    pub conversation: String,
    pub regulation: String,
    pub regulation_name: String,
    pub diagram: u32,
    pub diagram_name: String,
    pub diagram_source: String,
    /// Where it ended: "issued", "refused", "not accepted", "in progress".
    pub outcome: String,
    pub branch: Branch,
    /// One lane per system, in the order the diagram first names them.
    pub lanes: Vec<System>,
    pub elements: Vec<Mark>,
    pub hops: Vec<Hop>,
    pub steps: Vec<StepMark>,
    pub registered_at: Option<DateTime<Utc>>,
    pub result_expected_at: Option<DateTime<Utc>>,
    pub result_at: Option<DateTime<Utc>>,
}

/// An element of the diagram and what the application did there.
#[derive(Debug, Clone)]
pub struct Mark {
    /// "process 5", "condition 2".
    pub id: String,
    pub kind: ElementKind,
    pub system: System,
    pub to: Vec<System>,
    pub text: String,
    pub source: String,
    pub state: Passage,
    /// When the gateway saw the message this element sends.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passage {
    /// On the application's path, done.
    Passed,
    /// On its path, not reached yet.
    Pending,
    /// Not on its path (the other branch of a condition).
    Off,
}

impl Passage {
    pub fn code(self) -> &'static str {
        match self {
            Passage::Passed => "passed",
            Passage::Pending => "pending",
            Passage::Off => "off",
        }
    }
}

/// A message of the conversation, as the gateway logged it.
#[derive(Debug, Clone)]
pub struct Hop {
    pub at: DateTime<Utc>,
    pub from: String,
    pub to: String,
    pub service: String,
    pub kind: String,
    pub status: String,
}

/// A staff step of the regulation: its budget and what it took.
#[derive(Debug, Clone)]
pub struct StepMark {
    pub number: u32,
    pub actor: String,
    pub action: String,
    /// As the regulation states it ("30 min", "1 working day").
    pub budget: String,
    pub source: String,
    pub started: Option<DateTime<Utc>>,
    pub done: Option<DateTime<Utc>>,
    /// When the budget ran out, on the actor's working calendar.
    pub due: Option<DateTime<Utc>>,
}

impl StepMark {
    /// Done within its budget; none while not done or not computable.
    pub fn within(&self) -> Option<bool> {
        Some(self.done? <= self.due?)
    }

    pub fn took_seconds(&self) -> Option<i64> {
        Some((self.done? - self.started?).num_seconds())
    }

    pub fn budget_seconds(&self) -> Option<i64> {
        Some((self.due? - self.started?).num_seconds())
    }
}

/// Reads the path from the conversation's log entries (with envelopes).
pub fn read(
    conversation: &str,
    entries: &[TraceEntry],
    regulations: &Registry,
    calendar: &Calendar,
) -> Result<Path, String> {
    if entries.is_empty() {
        return Err(format!(
            "unknown_conversation: the gateway has logged nothing of conversation {conversation:?}"
        ));
    }
    let mut application: Option<(ws::Application, String)> = None;
    let mut statuses: Vec<ws::ApplicationStatus> = Vec::new();
    let mut result_at = None;
    let mut not_accepted = false;
    for entry in entries.iter().filter(|e| e.verdict == "accepted") {
        let Ok(opened) = egov_bus::envelope::open(&entry.envelope) else {
            continue;
        };
        let kind = Kind::try_from(entry.kind).unwrap_or(Kind::Unspecified);
        match (entry.service.as_str(), kind) {
            (services::SUBMIT_APPLICATION, Kind::Request | Kind::Notification) => {
                if let Ok(app) = opened.decode::<ws::Application>() {
                    application.get_or_insert((app, entry.sender.clone()));
                }
            }
            (services::SUBMIT_APPLICATION, Kind::Reject) => not_accepted = true,
            (services::APPLICATION_STATUS, _) => {
                if let Ok(status) = opened.decode::<ws::ApplicationStatus>() {
                    statuses.push(status);
                }
            }
            (services::APPLICATION_RESULT, _) => {
                result_at = result_at.or(entry.logged_at.as_ref().and_then(time));
            }
            _ => {}
        }
    }
    statuses.sort_by_key(|s| s.sequence);
    let code = application
        .as_ref()
        .map(|(a, _)| a.regulation.clone())
        .or_else(|| statuses.first().map(|s| s.regulation.clone()))
        .ok_or_else(|| {
            format!(
                "not_an_application: conversation {conversation:?} carries no application the gateway logged"
            )
        })?;
    let regulation = regulations
        .get(&code)
        .ok_or_else(|| format!("unknown_regulation: no regulation {code:?} in the data"))?;
    let sender = application.as_ref().map(|(_, s)| s.as_str()).unwrap_or("");
    let channel = match sender {
        "intake" => Channel::StateCorporation,
        "workstation" => Channel::ProviderOffice,
        _ => Channel::Portal,
    };
    let diagram = regulation
        .diagrams
        .iter()
        .find(|d| d.channel == channel)
        .ok_or_else(|| {
            format!("no_diagram: regulation {code} has no diagram of the {channel} channel")
        })?;

    let last = statuses.last();
    let state = last.map(|s| s.state()).unwrap_or(ws::State::Unspecified);
    let (outcome, branch, finished) = match state {
        ws::State::Issued => ("issued", Branch::Through, true),
        ws::State::Refused => ("refused", provider_refusal(diagram), true),
        _ if not_accepted => ("not accepted", provider_refusal(diagram), true),
        _ => ("in progress", Branch::Through, false),
    };
    let on_path: Vec<String> = diagram
        .walk(branch)
        .map_err(|e| format!("no_diagram: {e}"))?
        .into_iter()
        .map(|e| e.id())
        .collect();

    let hops: Vec<Hop> = entries
        .iter()
        .filter_map(|e| {
            Some(Hop {
                at: e.logged_at.as_ref().and_then(time)?,
                from: e.sender.clone(),
                to: e.receiver.clone(),
                service: e.service.clone(),
                kind: Kind::try_from(e.kind)
                    .map(|k| k.as_str_name().trim_start_matches("KIND_").to_lowercase())
                    .unwrap_or_default(),
                status: if e.verdict == "accepted" {
                    DeliveryStatus::try_from(e.status)
                        .map(|s| {
                            s.as_str_name()
                                .trim_start_matches("DELIVERY_STATUS_")
                                .to_lowercase()
                        })
                        .unwrap_or_default()
                } else {
                    format!("refused: {}", e.verdict)
                },
            })
        })
        .collect();

    // An element that sends is marked at the first message from its system
    // to one of its receivers (through the gateway: the log names the two
    // ends). The furthest element seen tells how far an unfinished
    // application got.
    let mut elements: Vec<Mark> = diagram
        .elements
        .iter()
        .map(|e| {
            let on = on_path.contains(&e.id());
            let at = hops
                .iter()
                .find(|h| {
                    h.from == e.system.code()
                        && e.to
                            .iter()
                            .any(|t| h.to == t.code() || *t == System::Gateway)
                })
                .map(|h| h.at)
                .filter(|_| on);
            Mark {
                id: e.id(),
                kind: e.kind,
                system: e.system,
                to: e.to.clone(),
                text: e.text.clone(),
                source: e.source.clone(),
                state: if on { Passage::Passed } else { Passage::Off },
                at,
            }
        })
        .collect();
    if !finished {
        let reached = elements
            .iter()
            .rposition(|m| m.state == Passage::Passed && m.at.is_some())
            .unwrap_or(0);
        for mark in elements.iter_mut().skip(reached + 1) {
            if mark.state == Passage::Passed {
                mark.state = Passage::Pending;
            }
        }
    }

    let registered_at = statuses
        .iter()
        .find_map(|s| s.registered_at.as_ref().and_then(time));
    let result_expected_at = statuses
        .iter()
        .rev()
        .find_map(|s| s.result_expected_at.as_ref().and_then(time));
    let mut started = statuses.first().and_then(|s| s.at.as_ref().and_then(time));
    let steps = regulation
        .steps
        .iter()
        .map(|step| {
            let done = statuses
                .iter()
                .find(|s| s.step == step.number)
                .and_then(|s| s.at.as_ref().and_then(time));
            let due = match (started, egov_regulations::parse_duration(&step.duration)) {
                (Some(start), Ok(span)) => calendar
                    .due(
                        start,
                        span,
                        egov_regulations::actor_schedule(step.actor),
                        true,
                    )
                    .ok(),
                _ => None,
            };
            let mark = StepMark {
                number: step.number,
                actor: step.actor.code().to_owned(),
                action: step.action.clone(),
                budget: step.duration.clone(),
                source: step.source.clone(),
                started: done.and(started),
                done,
                due: done.and(due),
            };
            if done.is_some() {
                started = done;
            }
            mark
        })
        .collect();

    let lanes = lanes(diagram);
    Ok(Path {
        conversation: conversation.to_owned(),
        regulation: regulation.code.clone(),
        regulation_name: regulation.names.en.clone(),
        diagram: diagram.number,
        diagram_name: diagram.en.clone(),
        diagram_source: diagram.source.clone(),
        outcome: outcome.to_owned(),
        branch,
        lanes,
        elements,
        hops,
        steps,
        registered_at,
        result_expected_at,
        result_at,
    })
}

/// The provider's refusal: the last condition the provider's system checks
/// that names where a failed check goes.
fn provider_refusal(diagram: &Diagram) -> Branch {
    diagram
        .elements
        .iter()
        .rev()
        .find(|e| {
            e.kind == ElementKind::Condition && e.on_no.is_some() && e.system == System::Workstation
        })
        .map_or(Branch::Through, |e| Branch::No(e.number))
}

/// The systems that perform the diagram's elements, in the order it first
/// names them: one lane each, as the seeds draw them (a message to the
/// gateway is an arrow out of its lane, not a lane of its own).
fn lanes(diagram: &Diagram) -> Vec<System> {
    let mut lanes = Vec::new();
    for element in &diagram.elements {
        if !lanes.contains(&element.system) {
            lanes.push(element.system);
        }
    }
    lanes
}

fn time(t: &egov_proto::prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
}

impl Path {
    /// Two lines for people.
    pub fn summary(&self) -> String {
        let passed = self
            .elements
            .iter()
            .filter(|m| m.state == Passage::Passed)
            .count();
        let deadline = match (self.result_at, self.result_expected_at) {
            (Some(at), Some(due)) if at <= due => "; the result within its deadline",
            (Some(_), Some(_)) => "; the result after its deadline",
            _ => "",
        };
        format!(
            "{} {} — diagram {} ({}): {}, {passed} of {} elements passed{deadline}",
            self.regulation,
            self.regulation_name,
            self.diagram,
            self.branch,
            self.outcome,
            self.elements.len()
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        let at = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
        serde_json::json!({
            "conversation": self.conversation,
            "regulation": self.regulation,
            "diagram": self.diagram,
            "branch": self.branch.to_string(),
            "outcome": self.outcome,
            "lanes": self.lanes.iter().map(|s| s.code()).collect::<Vec<_>>(),
            "elements": self.elements.iter().map(|m| serde_json::json!({
                "element": m.id,
                "system": m.system.code(),
                "state": m.state.code(),
                "at": at(m.at),
                "source": m.source,
            })).collect::<Vec<_>>(),
            "steps": self.steps.iter().map(|s| serde_json::json!({
                "step": s.number,
                "actor": s.actor,
                "budget": s.budget,
                "started": at(s.started),
                "done": at(s.done),
                "due": at(s.due),
                "within_budget": s.within(),
            })).collect::<Vec<_>>(),
            "registered_at": at(self.registered_at),
            "result_expected_at": at(self.result_expected_at),
            "result_at": at(self.result_at),
        })
    }
}
