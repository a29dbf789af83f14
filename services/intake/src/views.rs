//! A request as stored, and as the operators' API shows it.

use crate::error::{IntakeCode, IntakeError, IntakeResult};
use crate::intake::Intake;
use chrono::{DateTime, Utc};
use egov_bus::envelope::timestamp;
use egov_proto::intake as pb;
use egov_proto::prost::Message;
use egov_proto::workstation as ws;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// The columns of one request the intake works with.
#[derive(Debug, Clone)]
pub struct Stored {
    pub reference: uuid::Uuid,
    pub regulation: String,
    pub stage: pb::Stage,
    pub operator_login: String,
    pub recipient_iin: String,
    pub recipient_phone: String,
    pub recipient: ws::Person,
    pub representative_iin: Option<String>,
    pub poa_number: Option<String>,
    pub poa_date: Option<String>,
    pub documents_present: Vec<String>,
    pub draft: ws::Application,
    pub consent_reference: Option<uuid::Uuid>,
    pub lookup_problem: String,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub issue_at: Option<DateTime<Utc>>,
    pub journal_number: String,
    pub refusal_code: String,
    pub refusal_message: String,
    pub result_state: Option<i16>,
    pub result_cms: Option<Vec<u8>>,
    pub issued_at: Option<DateTime<Utc>>,
    pub issued_to_iin: Option<String>,
    pub result_arrived_at: Option<DateTime<Utc>>,
    pub keep_until: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
}

impl Stored {
    fn of(row: &PgRow) -> IntakeResult<Stored> {
        let stage: i16 = row.try_get("stage")?;
        let draft: Vec<u8> = row.try_get("draft")?;
        Ok(Stored {
            reference: row.try_get("reference")?,
            regulation: row.try_get("regulation")?,
            stage: pb::Stage::try_from(i32::from(stage)).map_err(|_| {
                IntakeError::internal(format!("an unknown stage {stage} is stored"))
            })?,
            operator_login: row.try_get("operator_login")?,
            recipient_iin: row.try_get("recipient_iin")?,
            recipient_phone: row.try_get("recipient_phone")?,
            recipient: ws::Person {
                iin: row.try_get("recipient_iin")?,
                surname: row.try_get("recipient_surname")?,
                given_name: row.try_get("recipient_given_name")?,
                patronymic: row.try_get("recipient_patronymic")?,
            },
            representative_iin: row.try_get("representative_iin")?,
            poa_number: row.try_get("poa_number")?,
            poa_date: row.try_get("poa_date")?,
            documents_present: row.try_get("documents_present")?,
            draft: ws::Application::decode(draft.as_slice())
                .map_err(|e| IntakeError::internal(format!("a stored draft: {e}")))?,
            consent_reference: row.try_get("consent_reference")?,
            lookup_problem: row.try_get("lookup_problem")?,
            created_at: row.try_get("created_at")?,
            accepted_at: row.try_get("accepted_at")?,
            issue_at: row.try_get("issue_at")?,
            journal_number: row.try_get("journal_number")?,
            refusal_code: row.try_get("refusal_code")?,
            refusal_message: row.try_get("refusal_message")?,
            result_state: row.try_get("result_state")?,
            result_cms: row.try_get("result_cms")?,
            issued_at: row.try_get("issued_at")?,
            issued_to_iin: row.try_get("issued_to_iin")?,
            result_arrived_at: row.try_get("result_arrived_at")?,
            keep_until: row.try_get("keep_until")?,
            returned_at: row.try_get("returned_at")?,
        })
    }

    /// Refuses a step the request is not at.
    pub fn must_be_at(&self, stages: &[pb::Stage]) -> IntakeResult<()> {
        if stages.contains(&self.stage) {
            return Ok(());
        }
        Err(IntakeError::at(
            IntakeCode::WrongStage,
            "reference",
            format!(
                "request {} is {:?}; this step needs {}",
                self.reference,
                self.stage,
                stages
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ))
    }

    /// The recipient's full name as ЖТ МДБ gave it.
    pub fn recipient_name(&self) -> String {
        let p = &self.recipient;
        [&p.surname, &p.given_name, &p.patronymic]
            .into_iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub fn unknown(reference: &str) -> IntakeError {
    IntakeError::at(
        IntakeCode::UnknownRequest,
        "reference",
        format!("no request {reference:?}"),
    )
}

impl Intake {
    pub(crate) async fn stored(&self, reference: &str) -> IntakeResult<Stored> {
        let id: uuid::Uuid = reference.trim().parse().map_err(|_| unknown(reference))?;
        let row = sqlx::query("SELECT * FROM requests WHERE reference = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| unknown(reference))?;
        Stored::of(&row)
    }

    /// One request with its history of statuses.
    pub async fn request(&self, reference: &str) -> IntakeResult<pb::RequestView> {
        let stored = self.stored(reference).await?;
        let history = sqlx::query(
            "SELECT sequence, state, text, at FROM statuses WHERE reference = $1 ORDER BY sequence",
        )
        .bind(stored.reference)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(pb::StatusEntry {
                sequence: r.try_get::<i32, _>("sequence")? as u32,
                state: i32::from(r.try_get::<i16, _>("state")?),
                text: r.try_get("text")?,
                at: Some(timestamp(r.try_get("at")?)),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let mut view = self.view(&stored, history);
        view.package = self.package_of(stored.reference).await?;
        Ok(view)
    }

    /// Requests, newest first (without their histories).
    pub async fn requests(&self, recipient_iin: &str) -> IntakeResult<Vec<pb::RequestView>> {
        let rows = sqlx::query(
            "SELECT * FROM requests WHERE $1 = '' OR recipient_iin = $1
             ORDER BY created_at DESC LIMIT 200",
        )
        .bind(recipient_iin.trim())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(self.view(&Stored::of(row)?, Vec::new())))
            .collect()
    }

    fn view(&self, s: &Stored, history: Vec<pb::StatusEntry>) -> pb::RequestView {
        pb::RequestView {
            reference: s.reference.to_string(),
            regulation: s.regulation.clone(),
            service_name: self
                .regulations
                .get(&s.regulation)
                .map(|r| r.names.ru.clone())
                .unwrap_or_default(),
            stage: s.stage as i32,
            recipient: Some(s.recipient.clone()),
            recipient_phone: s.recipient_phone.clone(),
            representative: s.draft.representative.clone(),
            documents_present: s.documents_present.clone(),
            consent_given: s.consent_reference.is_some(),
            lookup_problem: s.lookup_problem.clone(),
            created_at: Some(timestamp(s.created_at)),
            accepted_at: s.accepted_at.map(timestamp),
            issue_at: s.issue_at.map(timestamp),
            journal_number: s.journal_number.clone(),
            history,
            refusal_code: s.refusal_code.clone(),
            refusal_message: s.refusal_message.clone(),
            result_state: s.result_state.map(i32::from).unwrap_or_default(),
            issued_at: s.issued_at.map(timestamp),
            issued_to_iin: s.issued_to_iin.clone().unwrap_or_default(),
            operator_login: s.operator_login.clone(),
            result_arrived_at: s.result_arrived_at.map(timestamp),
            keep_until: s.keep_until.map(timestamp),
            returned_at: s.returned_at.map(timestamp),
            package: None,
        }
    }
}
