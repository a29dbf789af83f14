//! The deadline plan of one application: when each staff step and the result
//! are due, given the channel, the intake time and the working calendar.
//!
//! The staff steps run one after another on the provider's schedule, the
//! first from the intake time; where the channel does not count the day of
//! intake, the first step does not either. The result's due time is the
//! channel's deadline counted from intake on the channel's own schedule.

use chrono::{DateTime, Utc};
use egov_calendar::{Calendar, Schedule};
use serde::Serialize;

use crate::duration::{self, Span};
use crate::model::{Actor, Channel, NOT_STATED, Regulation};

#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub number: u32,
    pub actor: Actor,
    pub action: String,
    pub duration: String,
    /// When the step can start: the previous step's due time (or intake),
    /// moved to the next working moment of the provider.
    pub starts: DateTime<Utc>,
    pub due: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlinePlan {
    pub code: String,
    pub channel: Channel,
    pub intake: DateTime<Utc>,
    /// The channel's deadline as written ("30 calendar days", "not stated").
    pub deadline: String,
    pub intake_day_counts: bool,
    pub steps: Vec<PlannedStep>,
    /// Due time of the result; `None` where the seed states no deadline.
    pub result_due: Option<DateTime<Utc>>,
    /// Due time of the last staff step, if there are steps.
    pub steps_due: Option<DateTime<Utc>>,
}

impl DeadlinePlan {
    /// The staff steps end after the result is due: the regulation's step
    /// durations do not fit its own deadline (seed 001 does this).
    pub fn steps_overrun_deadline(&self) -> bool {
        matches!((self.steps_due, self.result_due), (Some(steps), Some(result)) if steps > result)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("regulation {code} has no channel `{channel}`")]
    NoSuchChannel { code: String, channel: Channel },
    #[error("regulation {code}: {field}: {problem}")]
    BadDuration {
        code: String,
        field: String,
        problem: String,
    },
    #[error("calendar: {0}")]
    Calendar(String),
}

/// Which schedule the channel's deadline runs on.
pub fn channel_schedule(channel: Channel) -> Schedule {
    match channel {
        Channel::Portal => Schedule::Portal,
        Channel::StateCorporation => Schedule::StateCorporation,
        Channel::ProviderOffice => Schedule::Provider,
    }
}

/// Which schedule an actor works on.
pub fn actor_schedule(actor: Actor) -> Schedule {
    match actor {
        Actor::StateCorporationOperator
        | Actor::StateCorporationCourier
        | Actor::StateCorporationAccumulationSector => Schedule::StateCorporation,
        Actor::Recipient => Schedule::Portal,
        Actor::OfficeClerk | Actor::Head | Actor::Specialist | Actor::ResponsiblePerson => {
            Schedule::Provider
        }
    }
}

/// Plans an application of `regulation` received through `channel` at
/// `intake`.
pub fn plan(
    regulation: &Regulation,
    channel: Channel,
    intake: DateTime<Utc>,
    calendar: &Calendar,
) -> Result<DeadlinePlan, PlanError> {
    let rule = regulation
        .channel(channel)
        .ok_or_else(|| PlanError::NoSuchChannel {
            code: regulation.code.clone(),
            channel,
        })?;
    let span = |field: String, text: &str| -> Result<Span, PlanError> {
        duration::parse(text).map_err(|problem| PlanError::BadDuration {
            code: regulation.code.clone(),
            field,
            problem,
        })
    };
    let calendar_error =
        |error: egov_calendar::CalendarError| PlanError::Calendar(error.to_string());

    let mut steps = Vec::with_capacity(regulation.steps.len());
    let mut previous_due = intake;
    for (i, step) in regulation.steps.iter().enumerate() {
        let length = span(format!("steps[{i}].duration"), &step.duration)?;
        let schedule = actor_schedule(step.actor);
        let intake_day_counts = i > 0 || rule.intake_day_counts;
        let due = calendar
            .due(previous_due, length, schedule, intake_day_counts)
            .map_err(calendar_error)?;
        steps.push(PlannedStep {
            number: step.number,
            actor: step.actor,
            action: step.action.clone(),
            duration: step.duration.clone(),
            starts: calendar
                .next_working_moment(previous_due, schedule)
                .map_err(calendar_error)?,
            due,
        });
        previous_due = due;
    }

    let result_due = if rule.deadline == NOT_STATED {
        None
    } else {
        let length = span(format!("channels.{channel}.deadline"), &rule.deadline)?;
        Some(
            calendar
                .due(
                    intake,
                    length,
                    channel_schedule(channel),
                    rule.intake_day_counts,
                )
                .map_err(calendar_error)?,
        )
    };

    Ok(DeadlinePlan {
        code: regulation.code.clone(),
        channel,
        intake,
        deadline: rule.deadline.clone(),
        intake_day_counts: rule.intake_day_counts,
        steps_due: steps.last().map(|step| step.due),
        steps,
        result_due,
    })
}

/// What a service that plans deadlines checks at start-up: `calendar` can
/// plan an application taken `now` through every channel `takes` accepts
/// (the channel rules of every regulation in `registry`) — it has the
/// current year, and each deadline ends within the years it has. A year
/// without holiday data is thus an error the operator sees when the
/// service starts, naming the year to add, not at the first application.
/// Only the calendar's errors count: a deadline that cannot be planned for
/// other reasons is the service's own refusal of that application.
pub fn check_calendar(
    registry: &crate::Registry,
    calendar: &Calendar,
    now: DateTime<Utc>,
    takes: impl Fn(&crate::model::ChannelRule) -> bool,
) -> Result<(), String> {
    let year = chrono::Datelike::year(&egov_calendar::to_local(now));
    if calendar.year(year).is_none() {
        return Err(egov_calendar::CalendarError::NoDataForYear(year).to_string());
    }
    for regulation in registry.iter() {
        for rule in regulation.channels.iter().filter(|r| takes(r)) {
            if let Err(PlanError::Calendar(problem)) = plan(regulation, rule.channel, now, calendar)
            {
                return Err(format!(
                    "regulation {} through {} taken at {now}: {problem}",
                    regulation.code, rule.channel
                ));
            }
        }
    }
    Ok(())
}
