//! The request form (diagram 1, process 2) and the recipient's consent
//! (seed 002 Rules p.9: the State Corporation's employee obtains the
//! recipient's consent to the use of protected personal data). The form is
//! checked against the regulation and kept as a draft; the consent is a
//! one-time code sent to the recipient's phone and entered by the operator.

use crate::error::{IntakeCode, IntakeError, IntakeResult};
use crate::intake::Intake;
use crate::operators::Operator;
use crate::settings::Role;
use chrono::{DateTime, Utc};
use egov_proto::intake as pb;
use egov_proto::prost::Message;
use egov_proto::workstation as ws;
use egov_regulations::{
    Attachment, AttachmentLimits, AttachmentProblem, Channel, Document, Regulation,
    check_attachment, check_value,
};
use egov_trust::Iin;
use sqlx::PgConnection;
use std::collections::HashSet;

/// Wrong codes that void a consent code.
const CONSENT_ATTEMPTS: i32 = 3;

/// The regulation's documents for the State Corporation (seed 002 Standard
/// row 8 "to the State Corporation"; seed 001 §9 and 003 §9 "point 9 of the
/// Standard").
pub fn counter_documents(regulation: &Regulation) -> impl Iterator<Item = &Document> {
    regulation
        .documents
        .iter()
        .filter(|d| d.items.contains_key(Channel::StateCorporation.code()))
}

/// Records an SMS to `phone` (what the State Corporation's SMS gateway
/// would send), where a tester can read it.
pub async fn sms(
    db: &mut PgConnection,
    phone: &str,
    reference: Option<uuid::Uuid>,
    text: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sms (phone, reference, text) VALUES ($1, $2, $3)")
        .bind(phone)
        .bind(reference)
        .bind(text)
        .execute(db)
        .await?;
    Ok(())
}

/// The documents the request carries to the provider: the scans, and each
/// original marked present on paper (seed 003 §9 2)-5): it follows by
/// courier), so that the provider's completeness check sees what the counter
/// saw.
fn with_paper(
    regulation: &Regulation,
    scans: Vec<ws::Document>,
    on_paper: &[String],
) -> Vec<ws::Document> {
    let mut documents: Vec<ws::Document> = scans
        .into_iter()
        .map(|scan| ws::Document {
            on_paper: on_paper.contains(&scan.code),
            ..scan
        })
        .collect();
    for code in on_paper {
        if documents.iter().any(|d| &d.code == code) {
            continue;
        }
        let name = regulation
            .document(code)
            .map(|d| d.en.clone())
            .unwrap_or_default();
        documents.push(ws::Document {
            code: code.clone(),
            name,
            on_paper: true,
            ..Default::default()
        });
    }
    documents
}

pub fn parse_iin(text: &str, field: &str) -> IntakeResult<Iin> {
    Iin::parse(text.trim())
        .map_err(|e| IntakeError::at(IntakeCode::InvalidIin, field, e.to_string()))
}

fn check_phone(phone: &str) -> IntakeResult<()> {
    let digits = phone.trim().strip_prefix('+').unwrap_or("");
    if (11..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        return Ok(());
    }
    Err(IntakeError::at(
        IntakeCode::InvalidPhone,
        "recipient.phone",
        "an international number such as +77011234567",
    ))
}

impl Intake {
    /// Process 2: the service, the recipient, a representative only with a
    /// notarised power of attorney (its number and date; otherwise none),
    /// the paper documents present and their scans. Kept as a draft.
    #[tracing::instrument(name = "accept at the counter", skip_all)]
    pub async fn create_request(
        &self,
        operator: &Operator,
        r: pb::CreateRequestRequest,
    ) -> IntakeResult<pb::RequestView> {
        operator.must_be(&[Role::Operator], "taking a request")?;
        let regulation = self.counter_regulation(&r.regulation)?;
        let recipient = r
            .recipient
            .ok_or_else(|| IntakeError::at(IntakeCode::MissingField, "recipient", "required"))?;
        let recipient_iin = parse_iin(&recipient.iin, "recipient.iin")?;
        check_phone(&recipient.phone)?;
        let representative = match r.representative {
            Some(rep) if !(rep.iin.is_empty() && rep.power_of_attorney_number.is_empty()) => {
                Some(self.check_representative(&rep, &recipient_iin)?)
            }
            _ => None,
        };
        let present = self.check_documents(regulation, &r.documents_present, &r.scans)?;
        self.check_form(regulation, &r.form)?;
        let documents = with_paper(regulation, r.scans, &r.documents_present);

        let reference = uuid::Uuid::now_v7();
        let draft = ws::Application {
            regulation: regulation.code.clone(),
            channel: ws::Channel::StateCorporation as i32,
            applicant: None,
            representative: representative.clone(),
            documents,
            form: r.form,
            submitted_at: None,
            reference: reference.to_string(),
            signed_request: Default::default(),
        };
        let (rep_iin, poa_number, poa_date) = match &representative {
            Some(rep) => (
                rep.person.as_ref().map(|p| p.iin.clone()),
                Some(rep.power_of_attorney_number.clone()),
                Some(rep.power_of_attorney_date.clone()),
            ),
            None => (None, None, None),
        };
        sqlx::query(
            "INSERT INTO requests (reference, regulation, stage, operator_login, recipient_iin,
                 recipient_phone, representative_iin, poa_number, poa_date, documents_present, draft)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(reference)
        .bind(&regulation.code)
        .bind(pb::Stage::Draft as i16)
        .bind(&operator.login)
        .bind(recipient_iin.to_string())
        .bind(recipient.phone.trim())
        .bind(rep_iin)
        .bind(poa_number)
        .bind(poa_date)
        .bind(&present)
        .bind(draft.encode_to_vec())
        .execute(&self.pool)
        .await?;
        tracing::info!(%reference, regulation = %regulation.code, "A request was drafted.");
        self.request(&reference.to_string()).await
    }

    /// A regulation taken at the State Corporation (its channel list).
    pub(crate) fn counter_regulation(&self, code: &str) -> IntakeResult<&Regulation> {
        let regulation = self.regulations.get(code.trim()).ok_or_else(|| {
            IntakeError::at(
                IntakeCode::UnknownService,
                "regulation",
                format!("no service {code:?}"),
            )
        })?;
        if !regulation
            .channel(Channel::StateCorporation)
            .is_some_and(|c| c.intake)
        {
            return Err(IntakeError::at(
                IntakeCode::ChannelNotOffered,
                "regulation",
                format!(
                    "service {} is not taken at the State Corporation",
                    regulation.code
                ),
            ));
        }
        Ok(regulation)
    }

    fn check_representative(
        &self,
        rep: &pb::RepresentativeEntry,
        recipient: &Iin,
    ) -> IntakeResult<ws::Representative> {
        let iin = parse_iin(&rep.iin, "representative.iin")?;
        if &iin == recipient {
            return Err(IntakeError::at(
                IntakeCode::InvalidValue,
                "representative.iin",
                "the recipient does not represent themselves",
            ));
        }
        // Diagram 1, process 2: the power of attorney's data are entered
        // only for a notarised one, and then both are needed.
        if rep.power_of_attorney_number.trim().is_empty() {
            return Err(IntakeError::at(
                IntakeCode::MissingField,
                "representative.power_of_attorney_number",
                "a representative comes with a notarised power of attorney (seed 001 §9, process 2)",
            ));
        }
        for (value, field) in [(&rep.surname, "surname"), (&rep.given_name, "given_name")] {
            if value.trim().is_empty() {
                return Err(IntakeError::at(
                    IntakeCode::MissingField,
                    format!("representative.{field}"),
                    "the representative's name, from the identity card presented",
                ));
            }
        }
        check_value(
            egov_regulations::FieldType::Date,
            rep.power_of_attorney_date.trim(),
        )
        .map_err(|p| {
            IntakeError::at(
                IntakeCode::InvalidValue,
                "representative.power_of_attorney_date",
                p,
            )
        })?;
        Ok(ws::Representative {
            person: Some(ws::Person {
                iin: iin.to_string(),
                surname: rep.surname.trim().to_owned(),
                given_name: rep.given_name.trim().to_owned(),
                patronymic: rep.patronymic.trim().to_owned(),
            }),
            power_of_attorney_number: rep.power_of_attorney_number.trim().to_owned(),
            power_of_attorney_date: rep.power_of_attorney_date.trim().to_owned(),
        })
    }

    /// The documents present on paper, against the State Corporation's list;
    /// a scanned document counts as present.
    fn check_documents(
        &self,
        regulation: &Regulation,
        present: &[String],
        scans: &[ws::Document],
    ) -> IntakeResult<Vec<String>> {
        let listed = |code: &str| counter_documents(regulation).any(|d| d.code == code);
        let mut marked: Vec<String> = Vec::new();
        for code in present {
            let at = format!("documents_present.{code}");
            if !listed(code) {
                return Err(IntakeError::at(
                    IntakeCode::UnknownDocument,
                    at,
                    format!(
                        "service {} lists no {code:?} for the State Corporation",
                        regulation.code
                    ),
                ));
            }
            if marked.contains(code) {
                return Err(IntakeError::at(
                    IntakeCode::DuplicateDocument,
                    at,
                    "marked twice",
                ));
            }
            marked.push(code.clone());
        }
        let limits = AttachmentLimits {
            max_bytes: self.tuning.max_document_bytes,
            media_types: &self.tuning.accepted_media_types,
        };
        let mut scanned = HashSet::new();
        for doc in scans {
            let attachment = Attachment {
                code: &doc.code,
                media_type: &doc.media_type,
                content: &doc.content,
                sha256: &doc.sha256,
            };
            if let Err(problem) =
                check_attachment(&attachment, listed(&doc.code), &mut scanned, &limits)
            {
                let code = match problem {
                    AttachmentProblem::Unlisted => IntakeCode::UnknownDocument,
                    AttachmentProblem::Twice => IntakeCode::DuplicateDocument,
                    AttachmentProblem::Empty => IntakeCode::EmptyDocument,
                    AttachmentProblem::TooLarge { .. } => IntakeCode::DocumentTooLarge,
                    AttachmentProblem::TypeNotAccepted => IntakeCode::DocumentTypeNotAccepted,
                    AttachmentProblem::HashMismatch => IntakeCode::InvalidValue,
                };
                let at = format!("scans.{}", doc.code);
                return Err(IntakeError::at(
                    code,
                    problem.field(&at),
                    problem.words(&attachment, &limits),
                ));
            }
            if !marked.contains(&doc.code) {
                marked.push(doc.code.clone());
            }
        }
        Ok(marked)
    }

    fn check_form(&self, regulation: &Regulation, form: &[ws::FormField]) -> IntakeResult<()> {
        let mut seen = HashSet::new();
        for field in form {
            let at = format!("form.{}", field.name);
            let definition = regulation
                .application_form()
                .and_then(|f| f.fields.iter().find(|d| d.name == field.name))
                .ok_or_else(|| {
                    IntakeError::at(
                        IntakeCode::UnknownField,
                        &at,
                        format!("the form of service {} has no such field", regulation.code),
                    )
                })?;
            if !seen.insert(field.name.as_str()) {
                return Err(IntakeError::at(IntakeCode::InvalidValue, at, "given twice"));
            }
            check_value(definition.field_type, field.value.trim())
                .map_err(|p| IntakeError::at(IntakeCode::InvalidValue, at, p))?;
        }
        Ok(())
    }

    /// Seed 002 Rules p.9: a one-time code to the recipient's phone.
    pub async fn send_consent_code(
        &self,
        operator: &Operator,
        reference: &str,
    ) -> IntakeResult<(String, DateTime<Utc>)> {
        operator.must_be(&[Role::Operator], "taking a request")?;
        let stored = self.stored(reference).await?;
        stored.must_be_at(&[pb::Stage::Draft])?;
        let random =
            egov_accounts::random::<4>().map_err(|e| IntakeError::internal(e.to_string()))?;
        let code = format!("{:06}", u32::from_le_bytes(random) % 1_000_000);
        let expires_at = Utc::now() + self.tuning.consent_code_ttl;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO consent_codes (reference, code, phone, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (reference) DO UPDATE SET code = $2, phone = $3, expires_at = $4, attempts = 0",
        )
        .bind(stored.reference)
        .bind(&code)
        .bind(&stored.recipient_phone)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sms(
            &mut tx,
            &stored.recipient_phone,
            Some(stored.reference),
            &format!(
                "Код {code}: согласие на использование сведений, составляющих охраняемую законом тайну, для заявки {}. / Code {code}: consent to the use of protected personal data for request {}.",
                stored.reference, stored.reference
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((stored.recipient_phone, expires_at))
    }

    /// The code read out by the recipient: the consent is recorded and its
    /// reference travels with every look-up.
    pub async fn confirm_consent(
        &self,
        operator: &Operator,
        reference: &str,
        code: &str,
    ) -> IntakeResult<pb::RequestView> {
        operator.must_be(&[Role::Operator], "taking a request")?;
        let stored = self.stored(reference).await?;
        stored.must_be_at(&[pb::Stage::Draft])?;
        let mut tx = self.pool.begin().await?;
        let row: Option<(String, DateTime<Utc>, i32)> = sqlx::query_as(
            "SELECT code, expires_at, attempts FROM consent_codes WHERE reference = $1 FOR UPDATE",
        )
        .bind(stored.reference)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((expected, expires_at, attempts)) = row else {
            return Err(IntakeError::at(
                IntakeCode::ConsentRequired,
                "code",
                "send a consent code to the recipient first",
            ));
        };
        if expires_at <= Utc::now() || attempts >= CONSENT_ATTEMPTS {
            return Err(IntakeError::at(
                IntakeCode::ConsentCodeExpired,
                "code",
                "the code has expired or was entered wrong too often; send a new one",
            ));
        }
        if expected != code.trim() {
            sqlx::query("UPDATE consent_codes SET attempts = attempts + 1 WHERE reference = $1")
                .bind(stored.reference)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Err(IntakeError::at(
                IntakeCode::ConsentCodeWrong,
                "code",
                "not the code sent",
            ));
        }
        let consent = uuid::Uuid::now_v7();
        sqlx::query("DELETE FROM consent_codes WHERE reference = $1")
            .bind(stored.reference)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO consents (reference, iin, request) VALUES ($1, $2, $3)")
            .bind(consent)
            .bind(&stored.recipient_iin)
            .bind(stored.reference)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE requests SET consent_reference = $2, updated_at = now() WHERE reference = $1",
        )
        .bind(stored.reference)
        .bind(consent)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.request(reference).await
    }
}
