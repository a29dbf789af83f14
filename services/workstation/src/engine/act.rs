//! The tasks of an application's procedure: each act checks that its task is
//! the current one, the actor's role and that the action is the task's; does
//! what the action does (one function each); records the step log and the
//! new state; and returns the status (and, at the issue, the result) to send.

use super::{Action, Actor, RESULT_SERVICE, Workstation, draft, status_text};
use crate::documents;
use crate::error::{ApiCode, ApiError};
use crate::journal::{self, AppRow, DoneTask, NewResult, TaskRow};
use crate::model::{AppState, Decision, Origin};
use crate::role::Role;
use crate::staff::{self, Employee};
use chrono::Utc;
use egov_bus::Outgoing;
use egov_bus::envelope::{new_message_id, timestamp};
use egov_proto::workstation as pb;
use egov_regulations::{Regulation, Stage};
use sqlx::PgConnection;
use tracing::Instrument;

/// What an action did: the step log's note, and the result to send.
struct Done {
    note: String,
    result: Option<Outgoing>,
}

impl Done {
    fn note(note: String) -> Done {
        Done { note, result: None }
    }
}

impl Workstation {
    /// Does task `position` of the application `journal_number`.
    pub async fn act(
        &self,
        db: &mut PgConnection,
        journal_number: &str,
        position: u32,
        actor: &Actor,
        action: Action,
    ) -> Result<Vec<Outgoing>, ApiError> {
        let app = journal::application(&mut *db, journal_number, true).await?;
        let tasks = journal::tasks(&mut *db, app.id).await?;
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
        // A span per staff step (issue 13 point 2: the domain acts in the
        // trace, not only transport); signing and issue have their own.
        let span = tracing::info_span!(
            "staff step",
            journal_number = %app.journal_number,
            position,
            action = action.name(),
            role = %actor.role,
            autopilot = actor.autopilot,
        );
        async move {
            let task = current_task(&app, tasks, position, actor, &action)?;
            let regulation = self.regulation(&app.regulation)?;
            let done = match action {
                Action::Register { note } => Done::note(note),
                Action::Assign {
                    specialist_login,
                    resolution,
                } => Done::note(assign(db, &mut app, tasks, &specialist_login, &resolution).await?),
                Action::Approve { .. } | Action::Refuse { .. } => Done::note(
                    self.examine(db, &mut app, regulation, actor, action)
                        .await?,
                ),
                Action::Sign => Done::note(
                    self.sign(db, &app, regulation, actor)
                        .instrument(tracing::info_span!("sign result"))
                        .await?,
                ),
                Action::Issue => {
                    issue(db, &mut app)
                        .instrument(tracing::info_span!("issue result"))
                        .await?
                }
            };
            self.complete(db, app, tasks, task, actor, done).await
        }
        .instrument(span)
        .await
    }

    /// The specialist's examination: a draft result or a reasoned refusal.
    async fn examine(
        &self,
        db: &mut PgConnection,
        app: &mut AppRow,
        regulation: &Regulation,
        actor: &Actor,
        action: Action,
    ) -> Result<String, ApiError> {
        if let (Some(assigned), Some(me)) = (app.assigned_to, actor.employee.as_ref())
            && assigned != me.id
        {
            return Err(ApiError::new(
                ApiCode::NotAssigned,
                format!(
                    "the head assigned {} to another employee",
                    app.journal_number
                ),
            ));
        }
        let (decision, draft) = draft::draft(self, regulation, app, action)?;
        let note = match decision {
            Decision::Approve => format!("draft {} prepared", draft.result_code),
            Decision::Refuse => format!(
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
        journal::save_draft(db, app.id, decision, &draft).await?;
        app.decision = Some(decision);
        Ok(note)
    }

    /// The head signs the draft with their EDS (the workstation's own tasks:
    /// the `workstation.signer`'s).
    async fn sign(
        &self,
        db: &mut PgConnection,
        app: &AppRow,
        regulation: &Regulation,
        actor: &Actor,
    ) -> Result<String, ApiError> {
        let signer = match &actor.employee {
            Some(employee) => employee.clone(),
            None => self.workstation_signer(db).await?,
        };
        let key = self.keys.key(signer.id).ok_or_else(|| {
            ApiError::new(
                ApiCode::NoSigningKey,
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
            .map_err(|e| ApiError::new(ApiCode::of_certificate(&e), e.to_string()))?;
        self.trust
            .check(&signer.certificate, &certificate, now)
            .await
            .map_err(|e| {
                ApiError::new(
                    ApiCode::of_certificate(&e),
                    format!("{}'s EDS cannot sign: {e}", signer.login),
                )
            })?;
        let draft = app
            .draft
            .as_deref()
            .ok_or_else(|| ApiError::internal("nothing was drafted before the signature"))?;
        let draft = documents::decode(draft)?;
        let (kind, code) = (draft.kind.clone(), draft.result_code.clone());
        let signed = documents::sign(regulation, draft, &signer, key, now)?;
        let result = NewResult {
            application: app.id,
            kind: &kind,
            result_code: &code,
            signed: &signed,
            signed_by: signer.id,
            signed_at: now,
        };
        journal::insert_result(db, &result).await?;
        Ok(format!("signed by {} ({code})", signer.login))
    }

    /// The head who signs what the workstation forms by itself.
    async fn workstation_signer(&self, db: &mut PgConnection) -> Result<Employee, ApiError> {
        let id = self.keys.signer().ok_or_else(|| {
            ApiError::new(
                ApiCode::NoSigningKey,
                "the workstation holds no head's key to sign with (workstation.signer)",
            )
        })?;
        staff::by_id(db, id)
            .await?
            .ok_or_else(|| ApiError::internal("the signer is not enrolled"))
    }

    /// Records the task in the step log, moves the application on, and
    /// returns its status, then the result if one goes out.
    async fn complete(
        &self,
        db: &mut PgConnection,
        mut app: AppRow,
        tasks: &[TaskRow],
        task: &TaskRow,
        actor: &Actor,
        done: Done,
    ) -> Result<Vec<Outgoing>, ApiError> {
        let next = tasks.iter().find(|t| t.position == task.position + 1);
        app.current_position = match next {
            Some(next) if app.state == AppState::InProgress => next.position,
            _ => 0,
        };
        if app.current_position == 0 && app.state == AppState::InProgress {
            return Err(ApiError::internal(
                "the procedure ended without an issue".to_owned(),
            ));
        }
        let step = DoneTask {
            application: app.id,
            position: task.position,
            done_by: actor.employee.as_ref().map(|e| e.id),
            by_autopilot: actor.autopilot,
            note: &done.note,
            state: app.state,
            current_position: app.current_position,
        };
        if !journal::complete_task(db, &step).await? {
            return Err(ApiError::internal(format!(
                "task {} of {} was already in the step log",
                task.position, app.journal_number
            )));
        }
        // The status goes before the result (the outbox keeps the order).
        let sequence = app.status_sequence as u32 + 1;
        let outgoing = status_text::status(&app, Some(task), sequence)
            .into_iter()
            .chain(done.result)
            .collect();
        // Wake the autopilot for its next task — unless it is the one acting:
        // it goes on with the application by itself.
        if let Some(next) = next.filter(|_| app.current_position != 0 && !actor.autopilot) {
            self.wake_if_automated(db, Some(next.role)).await?;
        }
        tracing::info!(
            journal_number = %app.journal_number,
            position = task.position,
            stage = task.stage.code(),
            role = %task.role,
            by = actor.employee.as_ref().map(|e| e.login.as_str()).unwrap_or("workstation"),
            autopilot = actor.autopilot,
            "Task done."
        );
        Ok(outgoing)
    }
}

/// The task at `position`, if it is the current one and `actor` may do it
/// with `action`.
fn current_task<'t>(
    app: &AppRow,
    tasks: &'t [TaskRow],
    position: u32,
    actor: &Actor,
    action: &Action,
) -> Result<&'t TaskRow, ApiError> {
    let journal_number = &app.journal_number;
    if app.state != AppState::InProgress {
        return Err(ApiError::new(
            ApiCode::ProcedureFinished,
            format!(
                "application {journal_number} is already {}; nothing is left to do",
                app.state
            ),
        ));
    }
    if position as i32 != app.current_position {
        return Err(ApiError::new(
            ApiCode::TaskNotCurrent,
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
        .ok_or_else(|| ApiError::internal(format!("no task {position} in the procedure")))?;
    if actor.role != task.role {
        return Err(ApiError::new(
            ApiCode::WrongRole,
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
            ApiCode::WrongAction,
            "action",
            format!(
                "task {position} of {journal_number} is to {}; `{}` is not that",
                task.stage.code(),
                action.name()
            ),
        ));
    }
    Ok(task)
}

/// The head's resolution: the examination goes to an active employee of
/// the role that examines this regulation's applications.
async fn assign(
    db: &mut PgConnection,
    app: &mut AppRow,
    tasks: &[TaskRow],
    specialist_login: &str,
    resolution: &str,
) -> Result<String, ApiError> {
    let examiner_role = tasks
        .iter()
        .find(|t| t.stage == Stage::Examine)
        .map_or(Role::Specialist, |t| t.role);
    if specialist_login.trim().is_empty() {
        return Err(ApiError::missing("assign.specialist_login"));
    }
    let specialist = staff::by_login(&mut *db, specialist_login)
        .await?
        .filter(|e| e.role == examiner_role)
        .ok_or_else(|| {
            ApiError::invalid(
                ApiCode::NotAnExaminer,
                "assign.specialist_login",
                format!(
                    "{specialist_login:?} is not an active {examiner_role}, who examines this regulation's applications"
                ),
            )
        })?;
    journal::assign(db, app.id, specialist.id).await?;
    app.assigned_to = Some(specialist.id);
    Ok(format!("→ {}: {resolution}", specialist.login))
}

/// The signed result goes where the application came from (or is handed
/// over at the office); the application ends issued or refused.
async fn issue(db: &mut PgConnection, app: &mut AppRow) -> Result<Done, ApiError> {
    let result = journal::signed_result(&mut *db, app.id).await?;
    app.state = result.decision.final_state();
    let issued_at = Utc::now();
    let message_id = new_message_id();
    let message = app.origin.system().map(|system| {
        Outgoing::notification(
            system,
            RESULT_SERVICE,
            pb::ApplicationResult {
                journal_number: app.journal_number.clone(),
                regulation: app.regulation.clone(),
                state: app.state_proto() as i32,
                document: Some(result.document),
                reference: app.reference.clone(),
                issued_at: Some(timestamp(issued_at)),
            },
        )
        .conversation(app.conversation_id.clone())
        .message_id(message_id.clone())
    });
    let sent_in = message.as_ref().and_then(|_| message_id.parse().ok());
    journal::mark_issued(db, app.id, issued_at, sent_in).await?;
    let note = match app.origin {
        Origin::Office => "handed over at the office".into(),
        origin => format!("sent to {}", origin.code()),
    };
    Ok(Done {
        note,
        result: message,
    })
}
