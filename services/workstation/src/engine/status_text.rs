//! The status messages an application's origin is sent at registration and
//! after each task, with their bilingual (Russian / English) texts.

use super::STATUS_SERVICE;
use crate::journal::{AppRow, TaskRow};
use crate::model::Decision;
use chrono::Utc;
use egov_bus::Outgoing;
use egov_bus::envelope::timestamp;
use egov_proto::workstation as pb;
use egov_regulations::Stage;

/// The status message of `app` after `task` (none: the registration), for
/// its origin; none for the office, which is sent nothing.
pub(super) fn status(app: &AppRow, task: Option<&TaskRow>, sequence: u32) -> Option<Outgoing> {
    let system = app.origin.system()?;
    let state = app.state_proto();
    let status = pb::ApplicationStatus {
        journal_number: app.journal_number.clone(),
        regulation: app.regulation.clone(),
        state: state as i32,
        sequence,
        step: task.map_or(0, |t| t.step as u32),
        stage: task.map_or(String::new(), |t| t.stage.code().to_owned()),
        text: text(app, state, task.map(|t| t.stage)),
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

/// What the applicant reads: after the registration (no stage) or after a
/// task of `stage`, with the application now in `state`.
fn text(app: &AppRow, state: pb::State, stage: Option<Stage>) -> String {
    match (stage, state) {
        (None, _) => {
            let expected = app
                .result_expected_at
                .map(|at| {
                    egov_calendar::to_local(at)
                        .format("%d.%m.%Y %H:%M (Asia/Almaty)")
                        .to_string()
                })
                .unwrap_or_else(|| "не указан / not stated".into());
            format!(
                "Запрос принят, № {}. Результат ожидается {expected}. / Request accepted, No. {}; the result is expected on {expected}.",
                app.journal_number, app.journal_number
            )
        }
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
        (Some(Stage::Examine), _) if app.decision == Some(Decision::Refuse) => {
            "Документы проверены, подготовлен мотивированный отказ. / Documents checked; a reasoned refusal is drafted.".into()
        }
        (Some(Stage::Examine), _) => {
            "Документы проверены, подготовлен проект результата. / Documents checked; the result is drafted.".into()
        }
        (Some(Stage::Sign), _) => {
            "Результат подписан ЭЦП руководителя. / Signed with the head's EDS.".into()
        }
        (Some(Stage::Issue), _) => "Результат выдан. / Issued.".into(),
    }
}
