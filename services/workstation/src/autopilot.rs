//! The autopilot: staff tasks done by rules, so the mesh produces results
//! with nobody at the desk (demos, scenario tests, load). It also always
//! does the workstation's own tasks (a regulation without staff steps).
//!
//! The rules, driven only by the regulation's data:
//! - register, issue: done by the first active employee of the task's role;
//! - assign: to the first active employee of the role that examines;
//! - examine: every document the channel requires attached
//!   ([`procedure::required_documents`]) → approve, with the configured
//!   field values (`[workstation.autopilot.fields]`) where the result's form
//!   has those fields; a document missing → refuse on the grounds that
//!   concern it, or the incomplete package ([`procedure::grounds_for_missing`]);
//! - sign: by the head whose key the workstation holds (`workstation.signer`).
//!
//! It acts through the same engine as the API, one transaction per task,
//! claiming an application with `FOR UPDATE SKIP LOCKED`; a crash between
//! two tasks leaves the application at the task it had reached, and the
//! next start goes on from there. It wakes on the database's notification
//! that a task it can do became current (sent at commit), and sweeps every
//! `autopilot.sweep` besides.

use crate::engine::{Action, Actor, Workstation};
use crate::journal::{self, AppRow, TaskRow};
use crate::procedure;
use crate::role::Role;
use crate::settings::AutopilotSettings;
use crate::staff;
use egov_bus::Bus;
use egov_regulations::Stage;
use sqlx::PgConnection;
use sqlx::postgres::PgListener;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Every configured autopilot field must fit each form that has it.
pub fn check_fields(
    autopilot: &AutopilotSettings,
    regulations: &egov_regulations::Registry,
) -> anyhow::Result<()> {
    for (name, value) in &autopilot.fields {
        for regulation in regulations.iter() {
            for form in &regulation.forms {
                if let Some(field) = form.fields.iter().find(|f| &f.name == name) {
                    crate::documents::check_value(field.field_type, value).map_err(|problem| {
                        anyhow::anyhow!(
                            "workstation.autopilot.fields.{name}: {problem} (form {} of regulation {})",
                            form.code,
                            regulation.code
                        )
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// Runs until `stop` is cancelled; the tasks in hand are finished first.
///
/// Up to `autopilot.concurrency` applications are driven at once, each by
/// one task of its own; a new one starts as soon as a slot frees, so a slow
/// application holds up no other.
pub async fn run(workstation: Arc<Workstation>, bus: Bus, stop: CancellationToken) {
    let slots = Arc::new(Semaphore::new(workstation.tuning.autopilot.concurrency));
    let in_flight: Arc<Mutex<HashSet<uuid::Uuid>>> = Arc::default();
    let mut drivers = JoinSet::new();
    let mut listener = None;
    'work: loop {
        while drivers.try_join_next().is_some() {}
        if listener.is_none() {
            listener = listen(&workstation).await;
        }
        let found = match candidates(&workstation).await {
            Ok(ids) => ids,
            Err(error) => {
                tracing::warn!(%error, "The autopilot cannot read the journal; retrying.");
                Vec::new()
            }
        };
        let mut started = 0;
        for id in found {
            if in_flight.lock().expect("in-flight lock").contains(&id) {
                continue;
            }
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                _ = stop.cancelled() => break 'work,
            };
            in_flight.lock().expect("in-flight lock").insert(id);
            started += 1;
            let (workstation, bus, stop, in_flight) = (
                workstation.clone(),
                bus.clone(),
                stop.clone(),
                in_flight.clone(),
            );
            drivers.spawn(async move {
                drive(&workstation, &bus, id, &stop).await;
                in_flight.lock().expect("in-flight lock").remove(&id);
                drop(slot);
            });
        }
        if started > 0 {
            continue;
        }
        let sweep = workstation.tuning.autopilot.sweep;
        tokio::select! {
            _ = stop.cancelled() => break,
            notified = async {
                match listener.as_mut() {
                    Some(l) => l.try_recv().await.map(|_| ()),
                    None => { tokio::time::sleep(sweep).await; Ok(()) }
                }
            } => {
                if let Err(error) = notified {
                    tracing::warn!(%error, "Lost the database notifications; listening again.");
                    listener = None;
                }
            }
            _ = tokio::time::sleep(sweep) => {}
        }
    }
    while drivers.join_next().await.is_some() {}
}

async fn listen(workstation: &Workstation) -> Option<PgListener> {
    let attempt = async {
        let mut listener = PgListener::connect_with(&workstation.pool).await?;
        listener.listen(&workstation.wake_channel).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match attempt.await {
        Ok(listener) => Some(listener),
        Err(error) => {
            tracing::warn!(%error, "The autopilot cannot listen for notifications; sweeping only.");
            None
        }
    }
}

/// Open applications whose current task the autopilot does.
async fn candidates(workstation: &Workstation) -> Result<Vec<uuid::Uuid>, sqlx::Error> {
    let limit = (workstation.tuning.autopilot.concurrency * 8) as i64;
    journal::automatable(
        &workstation.pool,
        workstation.tuning.autopilot.enabled,
        limit,
    )
    .await
}

/// Does the application's tasks one transaction each, as long as the
/// autopilot can.
async fn drive(workstation: &Workstation, bus: &Bus, id: uuid::Uuid, stop: &CancellationToken) {
    while !stop.is_cancelled() {
        match step(workstation, bus, id).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, application = %id, "The autopilot could not do a task; it tries again after a sweep's interval.");
                // Not at once (what failed may need a moment: the database);
                // the application keeps its slot meanwhile, so it is not
                // picked up again in a tight loop.
                tokio::select! {
                    _ = tokio::time::sleep(workstation.tuning.autopilot.sweep) => {}
                    _ = stop.cancelled() => {}
                }
                return;
            }
        }
    }
}

/// One task; false when there is nothing (more) the autopilot can do.
async fn step(workstation: &Workstation, bus: &Bus, id: uuid::Uuid) -> anyhow::Result<bool> {
    let mut tx = workstation.pool.begin().await?;
    let Some(app) = journal::try_lock_open(&mut tx, id).await? else {
        return Ok(false);
    };
    // The step continues the application's trace (kept at registration),
    // and so does what it sends: one application, one trace.
    let span = tracing::info_span!("autopilot", journal_number = %app.journal_number);
    egov_runtime::propagation::continue_from(&span, app.traceparent.as_deref());
    step_in_span(workstation, bus, tx, app)
        .instrument(span)
        .await
}

async fn step_in_span(
    workstation: &Workstation,
    bus: &Bus,
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    app: AppRow,
) -> anyhow::Result<bool> {
    let tasks = journal::tasks(&mut *tx, app.id).await?;
    let Some(task) = tasks
        .iter()
        .find(|t| t.position == app.current_position)
        .filter(|t| workstation.automated(t.role))
        .cloned()
    else {
        return Ok(false);
    };
    let Some((actor, action)) = decide(workstation, &mut tx, &app, &tasks, &task).await? else {
        return Ok(false);
    };
    let position = task.position as u32;
    let outgoing = workstation
        .act_on(&mut tx, app, &tasks, position, &actor, action)
        .await?;
    for message in &outgoing {
        bus.enqueue(&mut tx, message).await?;
    }
    tx.commit().await?;
    bus.wake_relay();
    Ok(true)
}

/// Who does the task and what, by the rules; none when nobody of the role
/// is enrolled.
async fn decide(
    workstation: &Workstation,
    db: &mut PgConnection,
    app: &AppRow,
    tasks: &[TaskRow],
    task: &TaskRow,
) -> anyhow::Result<Option<(Actor, Action)>> {
    let actor = if task.role == Role::Workstation {
        Actor::workstation()
    } else {
        let chosen = match task.stage {
            Stage::Sign => match workstation.keys.signer() {
                Some(id) => staff::by_id(&mut *db, id).await?,
                None => None,
            },
            Stage::Examine => match app.assigned_to {
                Some(id) => staff::by_id(&mut *db, id).await?,
                None => first(db, task.role).await?,
            },
            _ => first(db, task.role).await?,
        };
        let Some(employee) = chosen.filter(|e| e.role == task.role) else {
            tracing::warn!(
                journal_number = %app.journal_number,
                role = %task.role,
                stage = task.stage.code(),
                "No employee of the role (with a key, to sign) is enrolled; the autopilot leaves the task."
            );
            return Ok(None);
        };
        Actor {
            role: employee.role,
            employee: Some(employee),
            autopilot: true,
        }
    };
    let action = match task.stage {
        Stage::Register => Action::Register {
            note: "autopilot".into(),
        },
        Stage::Assign => {
            let role = tasks
                .iter()
                .find(|t| t.stage == Stage::Examine)
                .map_or(Role::Specialist, |t| t.role);
            let Some(examiner) = first(db, role).await? else {
                tracing::warn!(journal_number = %app.journal_number, %role, "Nobody to assign the examination to.");
                return Ok(None);
            };
            Action::Assign {
                specialist_login: examiner.login,
                resolution: "autopilot: for examination".into(),
            }
        }
        Stage::Examine => examine(workstation, db, app).await?,
        Stage::Sign => Action::Sign,
        Stage::Issue => Action::Issue,
    };
    Ok(Some((actor, action)))
}

async fn first(db: &mut PgConnection, role: Role) -> Result<Option<staff::Employee>, sqlx::Error> {
    Ok(staff::with_role(db, role).await?.into_iter().next())
}

/// The conformity check by rules: the Standard's documents for the channel.
async fn examine(
    workstation: &Workstation,
    db: &mut PgConnection,
    app: &AppRow,
) -> anyhow::Result<Action> {
    let regulation = workstation
        .regulations
        .get(&app.regulation)
        .ok_or_else(|| anyhow::anyhow!("regulation {} is gone", app.regulation))?;
    let present = journal::document_codes(db, app.id).await?;
    let missing = procedure::missing_documents(regulation, app.channel, &present);
    if missing.is_empty() {
        let form = procedure::approval_result(regulation, app.channel, None)
            .and_then(|result| crate::documents::form_of(regulation, result));
        let fields = match form {
            Some(form) => workstation
                .tuning
                .autopilot
                .fields
                .iter()
                .filter(|(name, _)| form.fields.iter().any(|f| &f.name == *name))
                .map(|(name, value)| egov_proto::workstation::FormField {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            None => Vec::new(),
        };
        return Ok(Action::Approve {
            fields,
            result_code: String::new(),
        });
    }
    let grounds = procedure::grounds_for_missing(regulation, app.channel, &missing)
        .into_iter()
        .map(|g| g.code)
        .collect();
    let reasons = missing
        .iter()
        .map(|d| {
            let item = d.items.get(app.channel.code()).cloned().unwrap_or_default();
            format!(
                "не приложен документ: {} ({item}) / the document is not attached: {}",
                d.ru.as_deref().unwrap_or(&d.kk),
                d.en
            )
        })
        .collect();
    Ok(Action::Refuse {
        grounds,
        reasons,
        missing_documents: missing.iter().map(|d| d.code.clone()).collect(),
    })
}
