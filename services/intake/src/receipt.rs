//! The receipts and the sending (diagram 1, processes 5-6). An incomplete
//! package is refused at the counter with the refusal receipt (seed 002
//! Rules p.5 and App. 3; seed 003 §9 1) and App. 4), listing the missing
//! documents by name; nothing is sent. A complete one gets the acceptance
//! receipt with the fields of seed 003 §9 1), its date of issue from the
//! working calendar, and the request, signed with the operator's EDS, goes
//! to the provider's workstation through the gateway in the same
//! transaction as its record (outbox; the message id is the request
//! number, so it is sent once whatever is retried).
//!
//! A receipt is UTF-8 plain text, printable on any counter printer, and the
//! same bytes signed with the operator's EDS as CMS SignedData (attached),
//! which `openssl cms -verify` checks: a signed text needs no PDF library,
//! and what is signed is exactly what is printed.

use crate::error::{IntakeError, IntakeResult};
use crate::intake::Intake;
use crate::operators::Operator;
use crate::request::counter_documents;
use crate::settings::Role;
use crate::views::Stored;
use chrono::{DateTime, Utc};
use egov_bus::Outgoing;
use egov_proto::envelope::Kind;
use egov_proto::intake as pb;
use egov_proto::prost::Message;
use egov_regulations::{Channel, Regulation};
use egov_trust::SystemId;
use egov_trust::cms::{self, Encapsulation};
use sqlx::Row;

fn local(at: DateTime<Utc>) -> String {
    egov_calendar::to_local(at)
        .format("%d.%m.%Y %H:%M (Asia/Almaty)")
        .to_string()
}

/// A document's name as the receipt prints it.
fn document_name(regulation: &Regulation, code: &str) -> String {
    regulation
        .document(code)
        .map(|d| d.ru.clone().unwrap_or_else(|| d.kk.clone()))
        .unwrap_or_else(|| code.to_owned())
}

impl Intake {
    /// Processes 5-6: the receipt, and for a complete package the signed
    /// request sent. Again on the same request: the same receipt.
    pub async fn accept(&self, operator: &Operator, reference: &str) -> IntakeResult<pb::Receipt> {
        operator.must_be(&[Role::Operator], "accepting a request")?;
        let stored = self.stored(reference).await?;
        if stored.stage != pb::Stage::Checked {
            if stored.stage == pb::Stage::Draft {
                stored.must_be_at(&[pb::Stage::Checked])?;
            }
            return self.receipt(reference).await;
        }
        let regulation = self.counter_regulation(&stored.regulation)?;
        // Seed 002 Rules p.5, seed 003 §9 1): every document of the State
        // Corporation's list that is not conditional must be present.
        let missing: Vec<String> = counter_documents(regulation)
            .filter(|d| d.condition.is_none() && !stored.documents_present.contains(&d.code))
            .map(|d| d.code.clone())
            .collect();
        let now = self.counter_clock.now();
        let (key, certificate) = self.signer(operator).await?;
        // Signed at the real time: the signature's time is the operator's
        // certificate's business, not the counter's clock.
        let signed_at = Utc::now();
        let sign = |bytes: &[u8]| {
            cms::sign(
                bytes,
                &key,
                &certificate,
                Encapsulation::Attached,
                signed_at,
            )
            .map_err(|e| IntakeError::internal(format!("signing: {e}")))
        };
        if !missing.is_empty() {
            let text = self.refusal_text(regulation, &stored, operator, &missing, now);
            let signed = sign(text.as_bytes())?;
            sqlx::query(
                "UPDATE requests SET stage = $2, receipt_kind = $3, receipt_text = $4,
                     receipt_cms = $5, missing_documents = $6, updated_at = now()
                 WHERE reference = $1 AND stage = $7",
            )
            .bind(stored.reference)
            .bind(pb::Stage::RefusedAtCounter as i16)
            .bind(pb::ReceiptKind::Refusal as i16)
            .bind(&text)
            .bind(&signed)
            .bind(&missing)
            .bind(pb::Stage::Checked as i16)
            .execute(&self.pool)
            .await?;
            tracing::info!(reference = %stored.reference, ?missing, "An incomplete package was refused at the counter.");
            return self.receipt(reference).await;
        }

        // The date of issue: the channel's deadline on the State
        // Corporation's calendar (seed 002 Standard row 3 and p.6: the day
        // of intake is not counted; `egovctl deadline`). None where the
        // regulation states no deadline.
        let issue_at =
            egov_regulations::plan(regulation, Channel::StateCorporation, now, &self.calendar)
                .map_err(|e| IntakeError::internal(format!("the calendar: {e}")))?
                .result_due;
        let text = self.acceptance_text(regulation, &stored, operator, now, issue_at);
        let receipt_cms = sign(text.as_bytes())?;

        // Process 5: the request certified with the operator's EDS: CMS over
        // the application serialized without `signed_request`.
        let mut application = stored.draft.clone();
        application.applicant = Some(stored.recipient.clone());
        application.submitted_at = Some(egov_bus::envelope::timestamp(now));
        let signed_request = sign(&application.encode_to_vec())?;
        application.signed_request = signed_request.clone().into();
        // Process 6: through the gateway to ЭҮАШ АЖО.
        let message = Outgoing::raw(
            SystemId::Workstation,
            egov_proto::services::SUBMIT_APPLICATION,
            Kind::Request,
            application.encode_to_vec(),
        )
        .message_id(stored.reference.to_string())
        .conversation(stored.reference.to_string())
        .acting_user(operator.iin.clone())
        .consent(
            stored
                .consent_reference
                .map(|c| c.to_string())
                .unwrap_or_default(),
        );

        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE requests SET stage = $2, accepted_at = $3, issue_at = $4, receipt_kind = $5,
                 receipt_text = $6, receipt_cms = $7, signed_request = $8, updated_at = now()
             WHERE reference = $1 AND stage = $9",
        )
        .bind(stored.reference)
        .bind(pb::Stage::Sent as i16)
        .bind(now)
        .bind(issue_at)
        .bind(pb::ReceiptKind::Acceptance as i16)
        .bind(&text)
        .bind(&receipt_cms)
        .bind(&signed_request)
        .bind(pb::Stage::Checked as i16)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            self.bus()
                .enqueue(&mut tx, &message)
                .await
                .map_err(|e| IntakeError::internal(format!("the outbox: {e}")))?;
            // Seed 003 §9 2): the paper documents go to the accumulation
            // sector.
            crate::paper::open_package(
                &mut tx,
                stored.reference,
                regulation,
                &stored.documents_present,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.bus().wake_relay();
        if updated == 1 {
            tracing::info!(reference = %stored.reference, regulation = %stored.regulation, "A request was accepted and sent.");
        }
        self.receipt(reference).await
    }

    /// The receipt of a request, as it was signed.
    pub async fn receipt(&self, reference: &str) -> IntakeResult<pb::Receipt> {
        let stored = self.stored(reference).await?;
        let row = sqlx::query(
            "SELECT receipt_kind, receipt_text, receipt_cms, missing_documents FROM requests
             WHERE reference = $1 AND receipt_kind IS NOT NULL",
        )
        .bind(stored.reference)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return stored
                .must_be_at(&[pb::Stage::RefusedAtCounter, pb::Stage::Sent])
                .map(|_| pb::Receipt::default());
        };
        Ok(pb::Receipt {
            reference: stored.reference.to_string(),
            kind: i32::from(row.try_get::<i16, _>("receipt_kind")?),
            text: row.try_get("receipt_text")?,
            cms: row.try_get::<Vec<u8>, _>("receipt_cms")?.into(),
            issue_at: stored.issue_at.map(egov_bus::envelope::timestamp),
            issue_place: self.tuning.branch.clone(),
            missing_documents: row.try_get("missing_documents")?,
            barcode: crate::paper::barcode(stored.reference),
        })
    }

    /// Seed 003 §9 1): request number and date of acceptance, the service,
    /// the number and names of the documents, the date (time) and place of
    /// issue, the employee who accepted, the recipient and their phones.
    fn acceptance_text(
        &self,
        regulation: &Regulation,
        s: &Stored,
        operator: &Operator,
        now: DateTime<Utc>,
        issue_at: Option<DateTime<Utc>>,
    ) -> String {
        let documents: Vec<String> = s
            .documents_present
            .iter()
            .enumerate()
            .map(|(i, code)| format!("  {}) {}", i + 1, document_name(regulation, code)))
            .collect();
        let issue = issue_at
            .map(local)
            .unwrap_or_else(|| "срок регламентом не установлен, о готовности сообщим по SMS / the regulation states no term; an SMS will tell when it is ready".into());
        let mut lines = vec![
            "РАСПИСКА О ПРИЕМЕ ДОКУМЕНТОВ / RECEIPT OF ACCEPTANCE OF DOCUMENTS".to_owned(),
            format!(
                "НАО «Государственная корпорация «Правительство для граждан»», {}",
                self.tuning.branch
            ),
            format!("Номер запроса / Request number: {}", s.reference),
            format!("Дата приема / Accepted on: {}", local(now)),
            format!(
                "Вид услуги / Service: {} «{}»",
                regulation.code, regulation.names.ru
            ),
            format!(
                "Приложенные документы ({}) / Documents attached ({}):",
                documents.len(),
                documents.len()
            ),
        ];
        lines.extend(documents);
        lines.extend([
            format!("Дата и время выдачи / Issued on: {issue}"),
            format!("Место выдачи / Place of issue: {}", self.tuning.branch),
            format!("Принял / Accepted by: {}", operator.full_name),
            format!("Услугополучатель / Recipient: {}", s.recipient_name()),
            format!("Телефоны / Phones: {}", s.recipient_phone),
            format!(
                "Штрихкод / Barcode: *{}*",
                s.reference.to_string().to_uppercase()
            ),
        ]);
        lines.join("\n") + "\n"
    }

    /// Seed 002 App. 3 (seed 003 App. 4 is not in the seed; the same form).
    fn refusal_text(
        &self,
        regulation: &Regulation,
        s: &Stored,
        operator: &Operator,
        missing: &[String],
        now: DateTime<Utc>,
    ) -> String {
        let mut lines = vec![
            "РАСПИСКА ОБ ОТКАЗЕ В ПРИЕМЕ ДОКУМЕНТОВ / RECEIPT REFUSING ACCEPTANCE OF DOCUMENTS"
                .to_owned(),
            format!(
                "Руководствуясь пунктом 2 статьи 20 Закона Республики Казахстан от 15 апреля 2013 года «О государственных услугах», {} отказывает в приеме документов на оказание государственной услуги «{}» ввиду представления Вами неполного пакета документов согласно перечню, предусмотренному стандартом государственной услуги, а именно:",
                self.tuning.branch, regulation.names.ru
            ),
            "Наименование отсутствующих документов / Missing documents:".to_owned(),
        ];
        lines.extend(
            missing
                .iter()
                .enumerate()
                .map(|(i, code)| format!("  {}) {}", i + 1, document_name(regulation, code))),
        );
        lines.extend([
            "Настоящая расписка составлена в двух экземплярах, по одному для каждой стороны."
                .to_owned(),
            format!(
                "Работник Государственной корпорации / Employee: {}",
                operator.full_name
            ),
            format!("Исполнитель / Executor: {}", operator.full_name),
            format!("Получил / Received by: {}", s.recipient_name()),
            format!("Дата / Date: {}", local(now)),
            format!("Номер запроса / Request number: {}", s.reference),
        ]);
        lines.join("\n") + "\n"
    }
}
