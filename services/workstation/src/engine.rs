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

use crate::documents::{self, DraftContext};
use crate::error::ApiError;
use crate::procedure::{self, Ground};
use crate::settings::Tuning;
use crate::staff::{self, Employee, Keys, Role};
use chrono::{DateTime, Utc};
use egov_bus::Outgoing;
use egov_bus::envelope::{new_message_id, timestamp};
use egov_calendar::Calendar;
use egov_proto::prost::Message;
use egov_proto::workstation as pb;
use egov_regulations::{Channel, Registry, Regulation, Stage};
use egov_trust::{Iin, SystemId, TrustStore};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use std::collections::HashSet;
use std::sync::Arc;

/// The service names of the routing table this module sends.
pub const STATUS_SERVICE: &str = "application-status";
pub const RESULT_SERVICE: &str = "application-result";

/// Where an application came from, and so where its statuses and result go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Diagram 2: the portal's personal cabinet.
    Portal,
    /// Diagram 1: the State Corporation, which issues the result.
    Intake,
    /// The provider's own office: the result is handed over there.
    Office,
}

impl Origin {
    pub fn code(self) -> &'static str {
        match self {
            Origin::Portal => "portal",
            Origin::Intake => "intake",
            Origin::Office => "office",
        }
    }

    fn from_code(code: &str) -> Origin {
        match code {
            "portal" => Origin::Portal,
            "intake" => Origin::Intake,
            _ => Origin::Office,
        }
    }

    /// The system the messages go to.
    pub fn system(self) -> Option<SystemId> {
        match self {
            Origin::Portal => Some(SystemId::Portal),
            Origin::Intake => Some(SystemId::Intake),
            Origin::Office => None,
        }
    }

    /// The only channel an application from this origin may name.
    pub fn channel(self) -> Channel {
        match self {
            Origin::Portal => Channel::Portal,
            Origin::Intake => Channel::StateCorporation,
            Origin::Office => Channel::ProviderOffice,
        }
    }
}

pub fn channel_to_proto(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Portal => pb::Channel::Portal,
        Channel::StateCorporation => pb::Channel::StateCorporation,
        Channel::ProviderOffice => pb::Channel::ProviderOffice,
    }
}

fn channel_from_proto(channel: i32) -> Option<Channel> {
    match pb::Channel::try_from(channel).ok()? {
        pb::Channel::Portal => Some(Channel::Portal),
        pb::Channel::StateCorporation => Some(Channel::StateCorporation),
        pb::Channel::ProviderOffice => Some(Channel::ProviderOffice),
        pb::Channel::Unspecified => None,
    }
}

pub fn stage_to_proto(stage: Stage) -> pb::Stage {
    match stage {
        Stage::Register => pb::Stage::Register,
        Stage::Assign => pb::Stage::Assign,
        Stage::Examine => pb::Stage::Examine,
        Stage::Sign => pb::Stage::Sign,
        Stage::Issue => pb::Stage::Issue,
    }
}

pub fn stage_from_code(code: &str) -> Stage {
    match code {
        "register" => Stage::Register,
        "assign" => Stage::Assign,
        "examine" => Stage::Examine,
        "sign" => Stage::Sign,
        _ => Stage::Issue,
    }
}

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

/// An application's journal row, as the engine needs it.
#[derive(Debug, Clone)]
pub struct AppRow {
    pub id: uuid::Uuid,
    pub journal_number: String,
    pub registered_at: DateTime<Utc>,
    pub regulation: String,
    pub channel: Channel,
    pub origin: Origin,
    pub conversation_id: String,
    pub reference: String,
    pub applicant_iin: String,
    pub applicant_name: String,
    pub payload: Vec<u8>,
    pub state: String,
    pub current_position: i32,
    pub assigned_to: Option<i64>,
    pub decision: Option<String>,
    pub draft: Option<Vec<u8>>,
    pub result_expected_at: Option<DateTime<Utc>>,
    pub status_sequence: i32,
}

const APP_COLUMNS: &str = "id, journal_number, registered_at, regulation, channel, origin, \
    conversation_id, reference, applicant_iin, applicant_name, payload, state, current_position, \
    assigned_to, decision, draft, result_expected_at, status_sequence";

impl AppRow {
    fn from_row(row: &PgRow) -> AppRow {
        AppRow {
            id: row.get("id"),
            journal_number: row.get("journal_number"),
            registered_at: row.get("registered_at"),
            regulation: row.get("regulation"),
            channel: Channel::from_code(row.get::<&str, _>("channel")).unwrap_or(Channel::Portal),
            origin: Origin::from_code(row.get::<&str, _>("origin")),
            conversation_id: row.get("conversation_id"),
            reference: row.get("reference"),
            applicant_iin: row.get("applicant_iin"),
            applicant_name: row.get("applicant_name"),
            payload: row.get("payload"),
            state: row.get("state"),
            current_position: row.get("current_position"),
            assigned_to: row.get("assigned_to"),
            decision: row.get("decision"),
            draft: row.get("draft"),
            result_expected_at: row.get("result_expected_at"),
            status_sequence: row.get("status_sequence"),
        }
    }

    fn application(&self) -> pb::Application {
        pb::Application::decode(self.payload.as_slice()).unwrap_or_default()
    }

    pub fn state_proto(&self) -> pb::State {
        match self.state.as_str() {
            "issued" => pb::State::Issued,
            "refused" => pb::State::Refused,
            _ if self.current_position == 1 => pb::State::Accepted,
            _ => pb::State::InProgress,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TaskRow {
    pub position: i32,
    pub step: i32,
    pub stage: Stage,
    pub role: Role,
    pub action: String,
    pub source: String,
    pub due_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<String>,
    pub by_autopilot: bool,
    pub note: String,
}

impl TaskRow {
    fn from_row(row: &PgRow) -> TaskRow {
        TaskRow {
            position: row.get("position"),
            step: row.get("step"),
            stage: stage_from_code(row.get::<&str, _>("stage")),
            role: Role::from_code(row.get::<&str, _>("role")).unwrap_or(Role::Workstation),
            action: row.get("action"),
            source: row.get("source"),
            due_at: row.get("due_at"),
            done_at: row.get("done_at"),
            done_by: row.get("done_by"),
            by_autopilot: row.get("by_autopilot"),
            note: row.get("note"),
        }
    }
}

const TASK_COLUMNS: &str = "t.position, t.step, t.stage, t.role, t.action, t.source, t.due_at, \
    t.done_at, (SELECT login FROM employees e WHERE e.id = t.done_by) AS done_by, \
    t.by_autopilot, t.note";

/// The workstation: its database, the regulations and calendar it runs on,
/// the heads' keys and its settings.
pub struct Workstation {
    pub pool: PgPool,
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

    // === registration ===

    /// Checks a submission: the clear error names the field at fault.
    pub fn validate(&self, submission: &Submission) -> Result<(&Regulation, Channel), ApiError> {
        let app = &submission.application;
        if submission.origin != Origin::Office && submission.conversation_id.trim().is_empty() {
            return Err(ApiError::invalid(
                "missing_field",
                "header.conversation_id",
                "an application travels in a conversation (the sender's case id)",
            ));
        }
        if app.regulation.trim().is_empty() {
            return Err(ApiError::missing("regulation"));
        }
        let regulation = self.regulations.get(&app.regulation).ok_or_else(|| {
            ApiError::invalid(
                "unknown_regulation",
                "regulation",
                format!(
                    "no regulation {:?} (known: {})",
                    app.regulation,
                    self.regulations
                        .iter()
                        .map(|r| r.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let expected = submission.origin.channel();
        let channel = match submission.origin {
            Origin::Office => expected,
            _ => channel_from_proto(app.channel).ok_or_else(|| ApiError::missing("channel"))?,
        };
        if channel != expected {
            return Err(ApiError::invalid(
                "channel_mismatch",
                "channel",
                format!(
                    "an application from {} comes through the {} channel, not {}",
                    submission.origin.code(),
                    expected,
                    channel
                ),
            ));
        }
        if !regulation.channel(channel).is_some_and(|c| c.intake) {
            return Err(ApiError::invalid(
                "channel_not_offered",
                "channel",
                format!(
                    "regulation {} does not take applications through the {channel} channel",
                    regulation.code
                ),
            ));
        }
        let applicant = app
            .applicant
            .as_ref()
            .ok_or_else(|| ApiError::missing("applicant"))?;
        check_person(applicant, "applicant")?;
        if let Some(rep) = &app.representative {
            let person = rep
                .person
                .as_ref()
                .ok_or_else(|| ApiError::missing("representative.person"))?;
            check_person(person, "representative.person")?;
            if rep.power_of_attorney_number.trim().is_empty() {
                return Err(ApiError::missing("representative.power_of_attorney_number"));
            }
            documents::check_value(
                egov_regulations::FieldType::Date,
                &rep.power_of_attorney_date,
            )
            .map_err(|problem| {
                ApiError::invalid(
                    "invalid_value",
                    "representative.power_of_attorney_date",
                    problem,
                )
            })?;
        }
        let mut seen = HashSet::new();
        for (i, doc) in app.documents.iter().enumerate() {
            let at = format!("documents[{i}]");
            if doc.code.trim().is_empty() {
                return Err(ApiError::missing(&format!("{at}.code")));
            }
            if regulation.document(&doc.code).is_none() {
                return Err(ApiError::invalid(
                    "unknown_document",
                    format!("{at}.code"),
                    format!(
                        "regulation {} lists no document {:?} (documents: {})",
                        regulation.code,
                        doc.code,
                        regulation
                            .documents
                            .iter()
                            .map(|d| d.code.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if !seen.insert(doc.code.as_str()) {
                return Err(ApiError::invalid(
                    "duplicate_document",
                    format!("{at}.code"),
                    format!("{:?} is attached twice", doc.code),
                ));
            }
            if doc.content.len() > self.tuning.max_document_bytes {
                return Err(ApiError::invalid(
                    "document_too_large",
                    format!("{at}.content"),
                    format!(
                        "{} bytes; at most {} are accepted",
                        doc.content.len(),
                        self.tuning.max_document_bytes
                    ),
                ));
            }
            if doc.content.is_empty() && doc.sha256.is_empty() {
                return Err(ApiError::invalid(
                    "empty_document",
                    at,
                    "a document carries its bytes, its SHA-256, or both",
                ));
            }
            if !doc.sha256.is_empty() {
                if doc.sha256.len() != 32 {
                    return Err(ApiError::invalid(
                        "invalid_hash",
                        format!("{at}.sha256"),
                        format!("a SHA-256 has 32 bytes, this has {}", doc.sha256.len()),
                    ));
                }
                if !doc.content.is_empty()
                    && egov_trust::sha256(&doc.content).as_slice() != doc.sha256.as_ref()
                {
                    return Err(ApiError::invalid(
                        "document_hash_mismatch",
                        format!("{at}.sha256"),
                        "the SHA-256 does not match the document's bytes",
                    ));
                }
            }
        }
        documents::check_fields(
            documents::application_form(regulation),
            &app.form,
            "form",
            false,
        )?;
        Ok((regulation, channel))
    }

    /// Registers a submission in the journal (diagram 2 process 6, diagram
    /// 1 process 7): its number and time, its documents, its procedure with
    /// due times; the first status says when the result is expected (seed
    /// 002 Rules p.7).
    pub async fn register(
        &self,
        db: &mut PgConnection,
        submission: &Submission,
    ) -> Result<Registration, ApiError> {
        let (regulation, channel) = self.validate(submission)?;
        let registered_at = Utc::now();
        let procedure = procedure::plan(regulation, channel, registered_at, &self.calendar)
            .map_err(|e| ApiError::precondition("cannot_plan", e.to_string()))?;
        let Some(row) = self
            .insert(
                db,
                submission,
                regulation,
                channel,
                registered_at,
                &procedure,
            )
            .await?
        else {
            // The journal keys on the sender and the conversation: the same
            // application under a new message id is the one registered.
            let journal_number: String = sqlx::query_scalar(
                "SELECT journal_number FROM applications WHERE origin = $1 AND conversation_id = $2",
            )
            .bind(submission.origin.code())
            .bind(&submission.conversation_id)
            .fetch_one(&mut *db)
            .await?;
            return Ok(Registration::Duplicate { journal_number });
        };
        let (id, journal_number) = (row.id, row.journal_number.clone());
        let outgoing: Vec<Outgoing> = self
            .status(&row, pb::State::Accepted, None, 1)
            .into_iter()
            .collect();
        self.wake_if_automated(db, procedure.tasks.first().map(|t| t.role))
            .await?;
        tracing::info!(%journal_number, regulation = %regulation.code, %channel, "Registered an application.");
        Ok(Registration::Registered {
            id,
            journal_number,
            outgoing,
        })
    }

    async fn insert(
        &self,
        db: &mut PgConnection,
        submission: &Submission,
        regulation: &Regulation,
        channel: Channel,
        registered_at: DateTime<Utc>,
        procedure: &procedure::Procedure,
    ) -> Result<Option<AppRow>, ApiError> {
        let app = &submission.application;
        let applicant = app.applicant.clone().unwrap_or_default();
        let id = submission.message_id.unwrap_or_else(uuid::Uuid::now_v7);
        // The number is the year of registration (Asia/Almaty) and the next
        // number of the journal. The first status ("accepted") goes out in
        // this transaction where there is someone to send it to.
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH n AS (SELECT nextval('journal_number_seq')::text AS n)
             INSERT INTO applications (id, journal_number, registered_at, regulation, channel,
                 origin, conversation_id, message_id, reference, acting_user, applicant_iin,
                 applicant_name, payload, state, current_position, result_expected_at,
                 status_sequence)
             SELECT $1, extract(year FROM $2 AT TIME ZONE 'Asia/Almaty')::int || '-'
                     || lpad(n, greatest(6, length(n)), '0'),
                 $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'in_progress', 1, $13, $14
             FROM n
             ON CONFLICT DO NOTHING
             RETURNING {APP_COLUMNS}"
        )))
        .bind(id)
        .bind(registered_at)
        .bind(&regulation.code)
        .bind(channel.code())
        .bind(submission.origin.code())
        .bind(&submission.conversation_id)
        .bind(submission.message_id)
        .bind(&app.reference)
        .bind(&submission.acting_user)
        .bind(&applicant.iin)
        .bind(documents::full_name(&applicant))
        .bind(app.encode_to_vec())
        .bind(procedure.expected)
        .bind(i32::from(submission.origin.system().is_some()))
        .fetch_optional(&mut *db)
        .await?;
        let Some(row) = row.as_ref().map(AppRow::from_row) else {
            return Ok(None);
        };
        for doc in &app.documents {
            let hash = if doc.sha256.is_empty() {
                egov_trust::sha256(&doc.content).to_vec()
            } else {
                doc.sha256.to_vec()
            };
            sqlx::query(
                "INSERT INTO application_documents (application_id, code, name, media_type, sha256, content)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(&doc.code)
            .bind(&doc.name)
            .bind(&doc.media_type)
            .bind(hash)
            .bind((!doc.content.is_empty()).then(|| doc.content.to_vec()))
            .execute(&mut *db)
            .await?;
        }
        let tasks = &procedure.tasks;
        sqlx::query(
            "INSERT INTO application_tasks (application_id, position, step, stage, role, action, source, due_at)
             SELECT $1, * FROM UNNEST($2::int4[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])",
        )
        .bind(id)
        .bind(tasks.iter().map(|t| t.position as i32).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.step as i32).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.stage.code()).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.role.code()).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.action.clone()).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.source.clone()).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.due).collect::<Vec<_>>())
        .execute(&mut *db)
        .await?;
        Ok(Some(row))
    }

    /// Registers an office application whose applicant ЖТ МДБ did not
    /// confirm, and ends it at once in the refusal of process 7 (seed 003
    /// §11 diagram 3, condition 2 → process 7), formed, signed and issued
    /// by the workstation.
    pub async fn register_refused(
        &self,
        db: &mut PgConnection,
        submission: &Submission,
        reasons: Vec<String>,
    ) -> Result<String, ApiError> {
        let (regulation, channel) = self.validate(submission)?;
        let registered_at = Utc::now();
        let procedure = procedure::Procedure {
            tasks: procedure::automatic(regulation, channel, Some(registered_at)),
            result_due: None,
            expected: Some(registered_at),
        };
        let journal_number = self
            .insert(
                db,
                submission,
                regulation,
                channel,
                registered_at,
                &procedure,
            )
            .await?
            .ok_or_else(|| ApiError::internal("an office application conflicted in the journal"))?
            .journal_number;
        let actor = Actor::workstation();
        let refuse = Action::Refuse {
            grounds: vec![procedure::DATA_NOT_CONFIRMED.to_owned()],
            reasons,
            missing_documents: Vec::new(),
        };
        for (position, action) in [(1, refuse), (2, Action::Sign), (3, Action::Issue)] {
            self.act(db, &journal_number, position, &actor, action)
                .await?;
        }
        Ok(journal_number)
    }

    async fn wake_if_automated(
        &self,
        db: &mut PgConnection,
        role: Option<Role>,
    ) -> Result<(), sqlx::Error> {
        if role.is_some_and(|r| self.automated(r)) {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(&self.wake_channel)
                .execute(db)
                .await?;
        }
        Ok(())
    }

    // === acting on tasks ===

    /// Does task `position` of the application: checks it is the current
    /// task, the actor's role, and that the action is this task's; records
    /// it in the step log; moves on; returns the status (and, at the issue,
    /// the result) to send.
    pub async fn act(
        &self,
        db: &mut PgConnection,
        journal_number: &str,
        position: u32,
        actor: &Actor,
        action: Action,
    ) -> Result<Vec<Outgoing>, ApiError> {
        let app = load(&mut *db, journal_number, true).await?;
        let tasks = tasks(&mut *db, app.id).await?;
        self.act_on(db, app, &tasks, position, actor, action).await
    }

    /// [`Workstation::act`] on an application already locked in this
    /// transaction, with its tasks read (the autopilot has them at hand).
    pub async fn act_on(
        &self,
        db: &mut PgConnection,
        mut app: AppRow,
        tasks: &[TaskRow],
        position: u32,
        actor: &Actor,
        action: Action,
    ) -> Result<Vec<Outgoing>, ApiError> {
        let journal_number = app.journal_number.clone();
        if app.state != "in_progress" {
            return Err(ApiError::precondition(
                "procedure_finished",
                format!(
                    "application {journal_number} is already {}; nothing is left to do",
                    app.state
                ),
            ));
        }
        if position as i32 != app.current_position {
            return Err(ApiError::precondition(
                "task_not_current",
                format!(
                    "task {position} of {journal_number} is not the current one; the current task is {}",
                    app.current_position
                ),
            )
            .at("position"));
        }
        let task = tasks
            .iter()
            .find(|t| t.position == app.current_position)
            .cloned()
            .ok_or_else(|| ApiError::internal(format!("no task {position} in the procedure")))?;
        let next = tasks
            .iter()
            .find(|t| t.position == app.current_position + 1);
        if actor.role != task.role {
            return Err(ApiError::denied(
                "wrong_role",
                format!(
                    "task {position} ({}) of {journal_number} is for the {}; you act as {}",
                    task.stage.code(),
                    task.role,
                    actor.role
                ),
            ));
        }
        if action.stage() != task.stage {
            return Err(ApiError::invalid(
                "wrong_action",
                "action",
                format!(
                    "task {position} of {journal_number} is to {}; `{}` is not that",
                    task.stage.code(),
                    action.name()
                ),
            ));
        }
        let regulation = self.regulation(&app.regulation)?;
        let actor_id = actor.employee.as_ref().map(|e| e.id);
        let note: String;
        let mut outgoing = Vec::new();
        match action {
            Action::Register { note: text } => note = text,
            Action::Assign {
                specialist_login,
                resolution,
            } => {
                let examiner_role = tasks
                    .iter()
                    .find(|t| t.stage == Stage::Examine)
                    .map_or(Role::Specialist, |t| t.role);
                if specialist_login.trim().is_empty() {
                    return Err(ApiError::missing("assign.specialist_login"));
                }
                let specialist = staff::by_login(&mut *db, &specialist_login)
                    .await?
                    .filter(|e| e.role == examiner_role)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "not_an_examiner",
                            "assign.specialist_login",
                            format!(
                                "{specialist_login:?} is not an active {examiner_role}, who examines this regulation's applications"
                            ),
                        )
                    })?;
                sqlx::query("UPDATE applications SET assigned_to = $2 WHERE id = $1")
                    .bind(app.id)
                    .bind(specialist.id)
                    .execute(&mut *db)
                    .await?;
                app.assigned_to = Some(specialist.id);
                note = format!("→ {}: {resolution}", specialist.login);
            }
            Action::Approve { .. } | Action::Refuse { .. } => {
                if let (Some(assigned), Some(me)) = (app.assigned_to, actor_id)
                    && assigned != me
                {
                    return Err(ApiError::denied(
                        "not_assigned",
                        format!("the head assigned {journal_number} to another employee"),
                    ));
                }
                let (decision, draft) = self.draft(regulation, &app, action)?;
                note = match decision {
                    "approve" => format!("draft {} prepared", draft.result_code),
                    _ => format!(
                        "reasoned refusal: {}",
                        draft
                            .refusal
                            .as_ref()
                            .map(|r| r
                                .grounds
                                .iter()
                                .map(|g| g.code.as_str())
                                .collect::<Vec<_>>()
                                .join(", "))
                            .unwrap_or_default()
                    ),
                };
                sqlx::query("UPDATE applications SET decision = $2, draft = $3 WHERE id = $1")
                    .bind(app.id)
                    .bind(decision)
                    .bind(draft.encode_to_vec())
                    .execute(&mut *db)
                    .await?;
                app.decision = Some(decision.to_owned());
            }
            Action::Sign => {
                let signer = match &actor.employee {
                    Some(employee) => employee.clone(),
                    None => {
                        let id = self.keys.signer().ok_or_else(|| {
                            ApiError::precondition(
                                "no_signing_key",
                                "the workstation holds no head's key to sign with (workstation.signer)",
                            )
                        })?;
                        staff::by_id(&mut *db, id)
                            .await?
                            .ok_or_else(|| ApiError::internal("the signer is not enrolled"))?
                    }
                };
                let key = self.keys.key(signer.id).ok_or_else(|| {
                    ApiError::precondition(
                        "no_signing_key",
                        format!(
                            "the workstation holds no EDS key of {}; only a head enrolled with a private key signs",
                            signer.login
                        ),
                    )
                })?;
                // As the NCA's token would, refuse an expired or revoked EDS.
                let now = Utc::now();
                let certificate = self
                    .trust
                    .parse(&signer.certificate)
                    .map_err(|e| ApiError::precondition(e.code(), e.to_string()))?;
                self.trust
                    .check(&signer.certificate, &certificate, now)
                    .await
                    .map_err(|e| {
                        ApiError::precondition(
                            e.code(),
                            format!("{}'s EDS cannot sign: {e}", signer.login),
                        )
                    })?;
                let draft = app.draft.as_deref().ok_or_else(|| {
                    ApiError::internal("nothing was drafted before the signature")
                })?;
                let draft = documents::decode(draft)?;
                let (kind, code) = (draft.kind.clone(), draft.result_code.clone());
                let signed_at = now;
                let signed = documents::sign(regulation, draft, &signer, key, signed_at);
                sqlx::query(
                    "INSERT INTO results (application_id, kind, result_code, content, signature,
                         signer_certificate, signed_by, signed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(app.id)
                .bind(&kind)
                .bind(&code)
                .bind(signed.content.to_vec())
                .bind(signed.signature.to_vec())
                .bind(signed.signer_certificate.to_vec())
                .bind(signer.id)
                .bind(signed_at)
                .execute(&mut *db)
                .await?;
                note = format!("signed by {} ({code})", signer.login);
            }
            Action::Issue => {
                let (document, refused) = stored_result(&mut *db, app.id).await?;
                let state = if refused {
                    pb::State::Refused
                } else {
                    pb::State::Issued
                };
                let issued_at = Utc::now();
                let message_id = new_message_id();
                if let Some(system) = app.origin.system() {
                    outgoing.push(
                        Outgoing::notification(
                            system,
                            RESULT_SERVICE,
                            pb::ApplicationResult {
                                journal_number: app.journal_number.clone(),
                                regulation: app.regulation.clone(),
                                state: state as i32,
                                document: Some(document),
                                reference: app.reference.clone(),
                                issued_at: Some(timestamp(issued_at)),
                            },
                        )
                        .conversation(app.conversation_id.clone())
                        .message_id(message_id.clone()),
                    );
                }
                sqlx::query(
                    "UPDATE results SET issued_at = $2, message_id = $3 WHERE application_id = $1",
                )
                .bind(app.id)
                .bind(issued_at)
                .bind(
                    app.origin
                        .system()
                        .and_then(|_| message_id.parse::<uuid::Uuid>().ok()),
                )
                .execute(&mut *db)
                .await?;
                app.state = if refused { "refused" } else { "issued" }.to_owned();
                note = match app.origin {
                    Origin::Office => "handed over at the office".into(),
                    _ => format!("sent to {}", app.origin.code()),
                };
            }
        }
        app.current_position = match next {
            Some(next) if app.state == "in_progress" => next.position,
            _ => 0,
        };
        if app.current_position == 0 && app.state == "in_progress" {
            return Err(ApiError::internal(
                "the procedure ended without an issue".to_owned(),
            ));
        }
        let state = match app.state.as_str() {
            "issued" => pb::State::Issued,
            "refused" => pb::State::Refused,
            _ => pb::State::InProgress,
        };
        // The step log and the new state in one statement; the task must not
        // be in the log yet (the row lock makes this hold; the check guards it).
        let done = sqlx::query(
            "WITH done AS (
                 UPDATE application_tasks SET done_at = now(), done_by = $3, by_autopilot = $4, note = $5
                 WHERE application_id = $1 AND position = $2 AND done_at IS NULL
                 RETURNING 1)
             UPDATE applications SET state = $6, current_position = $7, updated_at = now(),
                 status_sequence = status_sequence + CASE WHEN origin = 'office' THEN 0 ELSE 1 END
             WHERE id = $1 AND EXISTS (SELECT 1 FROM done)",
        )
        .bind(app.id)
        .bind(task.position)
        .bind(actor_id)
        .bind(actor.autopilot)
        .bind(&note)
        .bind(&app.state)
        .bind(app.current_position)
        .execute(&mut *db)
        .await?
        .rows_affected();
        if done != 1 {
            return Err(ApiError::internal(format!(
                "task {position} of {journal_number} was already in the step log"
            )));
        }
        // The status goes before the result (the outbox keeps the order).
        let sequence = app.status_sequence as u32 + 1;
        if let Some(status) = self.status(&app, state, Some(&task), sequence) {
            outgoing.insert(0, status);
        }
        // Wake the autopilot for its next task — unless it is the one acting:
        // it goes on with the application by itself.
        if let Some(next) = next.filter(|_| app.current_position != 0 && !actor.autopilot) {
            self.wake_if_automated(db, Some(next.role)).await?;
        }
        tracing::info!(
            %journal_number,
            position,
            stage = task.stage.code(),
            role = %task.role,
            by = actor.employee.as_ref().map(|e| e.login.as_str()).unwrap_or("workstation"),
            autopilot = actor.autopilot,
            "Task done."
        );
        Ok(outgoing)
    }

    fn draft(
        &self,
        regulation: &Regulation,
        app: &AppRow,
        action: Action,
    ) -> Result<(&'static str, pb::ResultDocument), ApiError> {
        let application = app.application();
        let applicant = application.applicant.clone().unwrap_or_default();
        let ctx = DraftContext {
            regulation,
            channel: app.channel,
            journal_number: &app.journal_number,
            registered_at: app.registered_at,
            provider_name: &self.tuning.provider_name,
            provider_bin: &self.tuning.provider_bin,
            applicant: &applicant,
            application_form: &application.form,
            now: Utc::now(),
        };
        match action {
            Action::Approve {
                fields,
                result_code,
            } => {
                let code = (!result_code.is_empty()).then_some(result_code.as_str());
                let result =
                    procedure::approval_result(regulation, app.channel, code).ok_or_else(|| {
                        match code {
                            Some(code) => ApiError::invalid(
                                "unknown_result",
                                "approve.result_code",
                                format!(
                                    "regulation {} gives no result {code:?} through the {} channel",
                                    regulation.code, app.channel
                                ),
                            ),
                            None => ApiError::precondition(
                                "no_result_for_channel",
                                format!(
                                    "regulation {} gives no result through the {} channel",
                                    regulation.code, app.channel
                                ),
                            ),
                        }
                    })?;
                documents::check_fields(
                    documents::form_of(regulation, result),
                    &fields,
                    "approve.fields",
                    true,
                )?;
                Ok(("approve", documents::approval(&ctx, result, &fields)))
            }
            Action::Refuse {
                grounds,
                reasons,
                missing_documents,
            } => {
                if grounds.is_empty() {
                    return Err(ApiError::missing("refuse.grounds"));
                }
                let reasons: Vec<String> = reasons
                    .into_iter()
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty())
                    .collect();
                if reasons.is_empty() {
                    return Err(ApiError::missing("refuse.reasons"));
                }
                let mut named: Vec<Ground> = Vec::new();
                for (i, code) in grounds.iter().enumerate() {
                    let ground =
                        procedure::ground(regulation, app.channel, code).ok_or_else(|| {
                            let mut known: Vec<&str> = regulation
                                .refusal_grounds
                                .iter()
                                .map(|g| g.code.as_str())
                                .collect();
                            known.push(procedure::INCOMPLETE_PACKAGE);
                            ApiError::invalid(
                                "unknown_ground",
                                format!("refuse.grounds[{i}]"),
                                format!(
                                    "{code:?} is not a ground of regulation {} (grounds: {})",
                                    regulation.code,
                                    known.join(", ")
                                ),
                            )
                        })?;
                    if !named.contains(&ground) {
                        named.push(ground);
                    }
                }
                for (i, code) in missing_documents.iter().enumerate() {
                    if regulation.document(code).is_none() {
                        return Err(ApiError::invalid(
                            "unknown_document",
                            format!("refuse.missing_documents[{i}]"),
                            format!("regulation {} lists no document {code:?}", regulation.code),
                        ));
                    }
                }
                Ok((
                    "refuse",
                    documents::refusal(&ctx, named, reasons, missing_documents),
                ))
            }
            _ => Err(ApiError::internal("draft called for a non-examine action")),
        }
    }

    /// The status message of `app` after `task` (none: the registration),
    /// for its origin; none for the office.
    fn status(
        &self,
        app: &AppRow,
        state: pb::State,
        task: Option<&TaskRow>,
        sequence: u32,
    ) -> Option<Outgoing> {
        let system = app.origin.system()?;
        let expected = app
            .result_expected_at
            .map(|at| {
                egov_calendar::to_local(at)
                    .format("%d.%m.%Y %H:%M (Asia/Almaty)")
                    .to_string()
            })
            .unwrap_or_else(|| "не указан / not stated".into());
        let text = match (task.map(|t| t.stage), state) {
            (None, _) => format!(
                "Запрос принят, № {}. Результат ожидается {expected}. / Request accepted, No. {}; the result is expected on {expected}.",
                app.journal_number, app.journal_number
            ),
            (Some(_), pb::State::Issued) => {
                "Результат оказания услуги выдан. / The result of the service is issued.".into()
            }
            (Some(_), pb::State::Refused) => {
                "Выдан мотивированный отказ. / A reasoned refusal is issued.".into()
            }
            (Some(Stage::Register), _) => {
                "Заявление зарегистрировано канцелярией. / Registered by the office.".into()
            }
            (Some(Stage::Assign), _) => {
                "Руководитель наложил резолюцию, назначен исполнитель. / The head assigned the case.".into()
            }
            (Some(Stage::Examine), _) if app.decision.as_deref() == Some("refuse") => {
                "Документы проверены, подготовлен мотивированный отказ. / Documents checked; a reasoned refusal is drafted.".into()
            }
            (Some(Stage::Examine), _) => {
                "Документы проверены, подготовлен проект результата. / Documents checked; the result is drafted.".into()
            }
            (Some(Stage::Sign), _) => {
                "Результат подписан ЭЦП руководителя. / Signed with the head's EDS.".into()
            }
            (Some(Stage::Issue), _) => "Результат выдан. / Issued.".into(),
        };
        let status = pb::ApplicationStatus {
            journal_number: app.journal_number.clone(),
            regulation: app.regulation.clone(),
            state: state as i32,
            sequence,
            step: task.map_or(0, |t| t.step as u32),
            stage: task.map_or(String::new(), |t| t.stage.code().to_owned()),
            text,
            registered_at: Some(timestamp(app.registered_at)),
            result_expected_at: app.result_expected_at.map(timestamp),
            at: Some(timestamp(Utc::now())),
            reference: app.reference.clone(),
        };
        Some(
            Outgoing::notification(system, STATUS_SERVICE, status)
                .conversation(app.conversation_id.clone()),
        )
    }
}

fn check_person(person: &pb::Person, path: &str) -> Result<(), ApiError> {
    if person.iin.trim().is_empty() {
        return Err(ApiError::missing(&format!("{path}.iin")));
    }
    Iin::parse(&person.iin).map_err(|e| {
        ApiError::invalid(
            "invalid_iin",
            format!("{path}.iin"),
            format!("{}: {e}", e.code()),
        )
    })?;
    for (name, value) in [
        ("surname", &person.surname),
        ("given_name", &person.given_name),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::missing(&format!("{path}.{name}")));
        }
    }
    Ok(())
}

/// The application by journal number, locked for update if `lock`.
pub async fn load(
    db: &mut PgConnection,
    journal_number: &str,
    lock: bool,
) -> Result<AppRow, ApiError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APP_COLUMNS} FROM applications WHERE journal_number = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    )))
    .bind(journal_number)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(AppRow::from_row).ok_or_else(|| {
        ApiError::not_found(format!("no application {journal_number:?} in the journal"))
            .at("journal_number")
    })
}

/// Locks an open application unless someone else holds it (the autopilot's
/// claim: another instance or an employee at work is skipped, not waited for).
pub async fn try_lock_open(
    db: &mut PgConnection,
    id: uuid::Uuid,
) -> Result<Option<AppRow>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APP_COLUMNS} FROM applications WHERE id = $1 AND state = 'in_progress' FOR UPDATE SKIP LOCKED"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(AppRow::from_row))
}

pub async fn tasks(
    db: impl sqlx::PgExecutor<'_>,
    id: uuid::Uuid,
) -> Result<Vec<TaskRow>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM application_tasks t WHERE t.application_id = $1 ORDER BY t.position"
    )))
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(TaskRow::from_row).collect())
}

/// The signed result of an application, and whether it is a refusal.
pub async fn stored_result(
    db: &mut PgConnection,
    id: uuid::Uuid,
) -> Result<(pb::SignedDocument, bool), ApiError> {
    let row = sqlx::query(
        "SELECT content, signature, signer_certificate, kind FROM results WHERE application_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::precondition("not_signed", "the result has not been signed yet"))?;
    let kind: String = row.get("kind");
    Ok((
        pb::SignedDocument {
            content: row.get::<Vec<u8>, _>("content").into(),
            signature: row.get::<Vec<u8>, _>("signature").into(),
            signer_certificate: row.get::<Vec<u8>, _>("signer_certificate").into(),
        },
        kind == "refusal",
    ))
}
