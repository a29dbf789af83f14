//! The procedure engine: registers applications in the journal and moves
//! each through its tasks, one transaction per task. Every function here
//! works inside the caller's transaction and returns the messages the change
//! causes (statuses, the result); the caller puts them in the bus outbox in
//! that same transaction — the inbox handler through its `Context`, the API
//! and the autopilot through `Bus::enqueue` — so a crash can neither lose
//! nor double one.
//!
//! An act names the task it does by position; the application's row is
//! locked (`FOR UPDATE`) and the task must be the current one, so the same
//! act twice (a retried call, the autopilot and an employee at once) is done
//! once and the second gets `task_not_current`.
//!
//! - [`validate`]: the checks of a submission;
//! - [`register`]: the journal entry and the first status;
//! - [`act`]: the tasks, one function per action;
//! - [`draft`]: the specialist's draft result or reasoned refusal;
//! - [`status_text`]: the bilingual status messages.
//!
//! The SQL is in [`crate::journal`].

mod act;
mod draft;
mod register;
mod status_text;
pub mod validate;

use crate::enrolment::Keys;
use crate::error::ApiError;
use crate::role::Role;
use crate::settings::Tuning;
use crate::staff::Employee;
use egov_bus::Outgoing;
use egov_calendar::Calendar;
use egov_proto::workstation as pb;
use egov_regulations::{Registry, Regulation, Stage};
use egov_trust::TrustStore;
use std::sync::Arc;

pub use crate::model::Origin;

/// The service names of the routing table this module sends.
pub const STATUS_SERVICE: &str = "application-status";
pub const RESULT_SERVICE: &str = "application-result";

/// An application arriving to be registered.
#[derive(Debug, Clone)]
pub struct Submission {
    pub origin: Origin,
    /// The "submit-application" message; none at the office.
    pub message_id: Option<uuid::Uuid>,
    pub conversation_id: String,
    pub acting_user: String,
    pub application: pb::Application,
}

pub enum Registration {
    Registered {
        id: uuid::Uuid,
        journal_number: String,
        outgoing: Vec<Outgoing>,
    },
    /// The same application (origin and conversation) is in the journal.
    Duplicate { journal_number: String },
}

/// What an employee (or the autopilot, or the workstation) does to a task.
#[derive(Debug, Clone)]
pub enum Action {
    Register {
        note: String,
    },
    Assign {
        specialist_login: String,
        resolution: String,
    },
    Approve {
        fields: Vec<pb::FormField>,
        result_code: String,
    },
    Refuse {
        grounds: Vec<String>,
        reasons: Vec<String>,
        missing_documents: Vec<String>,
    },
    Sign,
    Issue,
}

impl Action {
    /// The stage of the procedure the action does.
    fn stage(&self) -> Stage {
        match self {
            Action::Register { .. } => Stage::Register,
            Action::Assign { .. } => Stage::Assign,
            Action::Approve { .. } | Action::Refuse { .. } => Stage::Examine,
            Action::Sign => Stage::Sign,
            Action::Issue => Stage::Issue,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Action::Register { .. } => "register",
            Action::Assign { .. } => "assign",
            Action::Approve { .. } => "approve",
            Action::Refuse { .. } => "refuse",
            Action::Sign => "sign",
            Action::Issue => "issue",
        }
    }
}

/// Who acts.
#[derive(Debug, Clone)]
pub struct Actor {
    /// None for the workstation's own tasks.
    pub employee: Option<Employee>,
    pub role: Role,
    pub autopilot: bool,
}

impl Actor {
    pub fn employee(employee: Employee) -> Actor {
        Actor {
            role: employee.role,
            employee: Some(employee),
            autopilot: false,
        }
    }

    pub fn workstation() -> Actor {
        Actor {
            employee: None,
            role: Role::Workstation,
            autopilot: true,
        }
    }
}

/// The workstation: its database, the regulations and calendar it runs on,
/// the heads' keys and its settings.
pub struct Workstation {
    pub pool: sqlx::PgPool,
    pub regulations: Registry,
    pub calendar: Calendar,
    pub keys: Keys,
    /// The mesh CA and its revocation list: a head's certificate is checked
    /// at each signature, not only at enrolment.
    pub trust: Arc<TrustStore>,
    pub tuning: Tuning,
    /// The PostgreSQL notification channel that wakes the autopilot when a
    /// task it can do becomes current (sent on commit, so never early).
    pub wake_channel: String,
}

impl Workstation {
    fn regulation(&self, code: &str) -> Result<&Regulation, ApiError> {
        self.regulations.get(code).ok_or_else(|| {
            ApiError::internal(format!(
                "regulation {code} of a registered application is gone"
            ))
        })
    }

    /// Whether the autopilot does tasks of `role`.
    pub fn automated(&self, role: Role) -> bool {
        role == Role::Workstation || self.tuning.autopilot.enabled
    }

    /// Wakes the autopilot (at commit) when it does tasks of `role`.
    async fn wake_if_automated(
        &self,
        db: &mut sqlx::PgConnection,
        role: Option<Role>,
    ) -> Result<(), sqlx::Error> {
        if role.is_some_and(|r| self.automated(r)) {
            crate::journal::notify_on_commit(db, &self.wake_channel).await?;
        }
        Ok(())
    }
}
