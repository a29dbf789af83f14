//! The provider's own office channel (seed 003 §11, the provider's list —
//! mesh diagram 3; seed 004 services 5 and 7–11 take applications at the
//! office too): an employee, logged in (processes 1–3), enters the
//! applicant's data (process 4); the workstation asks ЖТ МДБ through the
//! gateway (process 5) and checks the answer (condition 2): the applicant
//! must be found, under the name entered. Then the application is registered
//! and its procedure goes on (processes 6 and 8); otherwise it is registered
//! and ends at once in the refusal of process 7, which the workstation forms
//! and signs with the provider's EDS (`workstation.signer`).

use crate::engine::{Registration, Submission, Workstation};
use crate::error::{ApiCode, ApiError};
use crate::model::Origin;
use crate::staff::Employee;
use crate::views;
use egov_bus::{Bus, CallError, Outgoing, Reply};
use egov_proto::individuals::{PersonByIinRequest, PersonRecord};
use egov_proto::workstation as pb;
use egov_trust::SystemId;

pub const LOOKUP_SERVICE: &str = "person-by-iin";

/// What condition 2 found.
enum Check {
    Confirmed,
    NotConfirmed(String),
}

pub async fn submit(
    workstation: &Workstation,
    bus: &Bus,
    employee: &Employee,
    request: pb::OfficeApplicationRequest,
) -> Result<pb::OfficeApplicationResponse, ApiError> {
    let conversation_id = uuid::Uuid::now_v7().to_string();
    let submission = Submission {
        origin: Origin::Office,
        message_id: None,
        conversation_id: conversation_id.clone(),
        acting_user: employee.iin.clone(),
        application: pb::Application {
            regulation: request.regulation,
            channel: pb::Channel::ProviderOffice as i32,
            applicant: request.applicant,
            representative: request.representative,
            documents: request.documents,
            form: request.form,
            submitted_at: Some(egov_bus::envelope::timestamp(chrono::Utc::now())),
            reference: String::new(),
            // At the office the employee's own EDS signs the journal entry.
            signed_request: Default::default(),
        },
    };
    // Bad input is refused before anyone is asked anything.
    workstation.validate(&submission)?;
    if request.consent_reference.trim().is_empty() {
        return Err(ApiError::invalid(
            ApiCode::MissingField,
            "consent_reference",
            "the applicant's consent to read their record in ЖТ МДБ is required (seed 002 Rules p.9)",
        ));
    }
    let applicant = submission.application.applicant.clone().unwrap_or_default();
    let check = look_up(
        workstation,
        bus,
        employee,
        &applicant,
        &request.consent_reference,
        &conversation_id,
    )
    .await?;

    let mut tx = workstation.pool.begin().await?;
    let (journal_number, refused) = match check {
        Check::Confirmed => match workstation.register(&mut tx, &submission).await? {
            Registration::Registered { journal_number, .. } => (journal_number, false),
            Registration::Duplicate { journal_number } => (journal_number, false),
        },
        Check::NotConfirmed(reason) => (
            workstation
                .register_refused(&mut tx, &submission, vec![reason])
                .await?,
            true,
        ),
    };
    tx.commit().await?;
    let mut conn = workstation.pool.acquire().await?;
    let application = views::application(&mut conn, &journal_number).await?;
    let refusal = if refused {
        Some(views::document(&mut conn, &journal_number).await?)
    } else {
        None
    };
    Ok(pb::OfficeApplicationResponse {
        application: Some(application),
        refusal,
    })
}

/// Process 5 and condition 2.
async fn look_up(
    workstation: &Workstation,
    bus: &Bus,
    employee: &Employee,
    applicant: &pb::Person,
    consent: &str,
    conversation_id: &str,
) -> Result<Check, ApiError> {
    let request = Outgoing::request(
        SystemId::Individuals,
        LOOKUP_SERVICE,
        PersonByIinRequest {
            iin: applicant.iin.clone(),
            legal_basis: String::new(),
        },
    )
    .conversation(conversation_id)
    .acting_user(employee.iin.clone())
    .consent(consent);
    let reply = bus
        .call(request, workstation.tuning.lookup_deadline)
        .await
        .map_err(|error: CallError| {
            ApiError::new(
                ApiCode::RegistryUnavailable,
                format!("ЖТ МДБ did not answer ({}): {error}", error.code()),
            )
        })?;
    match reply {
        Reply::Response(opened) => {
            let record: PersonRecord = opened.decode().map_err(|e| {
                ApiError::new(
                    ApiCode::RegistryUnavailable,
                    format!("ЖТ МДБ's answer does not decode: {e}"),
                )
            })?;
            Ok(compare(applicant, &record))
        }
        Reply::Rejected(rejection, _) => match rejection.code.as_str() {
            "not_found" => Ok(Check::NotConfirmed(format!(
                "в ЖТ МДБ нет сведений о лице с ИИН {} / ЖТ МДБ has no person with IIN {}",
                applicant.iin, applicant.iin
            ))),
            "consent_required" => Err(ApiError::new(
                ApiCode::ConsentRequired,
                format!("ЖТ МДБ refused: {}", rejection.message),
            )
            .at("consent_reference")),
            "invalid_iin" => Err(ApiError::invalid(
                ApiCode::InvalidIin,
                "applicant.iin",
                rejection.message,
            )),
            other => Err(ApiError::new(
                ApiCode::RegistryUnavailable,
                format!("ЖТ МДБ refused with {other}: {}", rejection.message),
            )),
        },
    }
}

/// Condition 2: the record is the applicant's — the names entered are the
/// names ЖТ МДБ holds for the IIN.
fn compare(applicant: &pb::Person, record: &PersonRecord) -> Check {
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    if same(&applicant.surname, &record.surname) && same(&applicant.given_name, &record.given_name)
    {
        Check::Confirmed
    } else {
        Check::NotConfirmed(format!(
            "ЖТ МДБ records {} {} for IIN {}, the application says {} {} / данные заявителя не совпадают со сведениями ЖТ МДБ",
            record.surname, record.given_name, record.iin, applicant.surname, applicant.given_name
        ))
    }
}
