//! Diagram 1, process 9: the result handed over. Seed 002 Rules p.11 and
//! seed 003 §10 2): on presentation of an identity card, or to a
//! representative with a notarised power of attorney, on the basis of the
//! acceptance receipt. The power of attorney is checked again in БНАЖ at
//! that moment: one revoked since the request was taken refuses the
//! hand-over.

use crate::error::{IntakeCode, IntakeError, IntakeResult};
use crate::intake::Intake;
use crate::operators::Operator;
use crate::registries::PoaQuery;
use crate::request::parse_iin;
use crate::settings::Role;
use egov_proto::intake as pb;
use egov_proto::prost::Message;
use egov_proto::workstation as ws;
use egov_trust::cms;

impl Intake {
    #[tracing::instrument(name = "issue result at the counter", skip_all)]
    pub async fn issue_result(
        &self,
        operator: &Operator,
        r: pb::IssueResultRequest,
    ) -> IntakeResult<pb::IssuedResult> {
        operator.must_be(
            &[Role::IssuingOperator, Role::Operator],
            "handing a result over",
        )?;
        let stored = self.stored(&r.reference).await?;
        if stored.issued_at.is_some() {
            return Err(IntakeError::at(
                IntakeCode::AlreadyIssued,
                "reference",
                format!(
                    "the result was handed over to IIN {}",
                    stored.issued_to_iin.as_deref().unwrap_or("?")
                ),
            ));
        }
        let cms_der = stored.result_cms.clone().ok_or_else(|| {
            let why = match stored.stage {
                pb::Stage::ReturnedToProvider => {
                    "the result went back to the provider unclaimed; ask for it again"
                }
                pb::Stage::AskedBack => "the result was asked back from the provider",
                _ => "the provider has not sent the result yet",
            };
            IntakeError::at(IntakeCode::NoResultYet, "reference", why)
        })?;
        let presented = parse_iin(&r.presented_iin, "presented_iin")?.to_string();
        let number = r.power_of_attorney_number.trim();
        let on_poa = if presented == stored.recipient_iin {
            None
        } else if number.is_empty() {
            return Err(IntakeError::at(
                IntakeCode::NotTheRecipient,
                "presented_iin",
                "the identity card is not the recipient's; a representative shows a notarised power of attorney",
            ));
        } else {
            self.power_of_attorney(
                &PoaQuery {
                    number,
                    representative_iin: &presented,
                    regulation: &stored.regulation,
                    principal_iin: &stored.recipient_iin,
                    date: None,
                },
                stored.consent_reference,
                operator,
            )
            .await?;
            Some(number.to_owned())
        };
        let updated = sqlx::query(
            "UPDATE requests SET stage = $2, issued_at = now(), issued_to_iin = $3, issued_by = $4,
                 issued_on_poa = $5, updated_at = now()
             WHERE reference = $1 AND issued_at IS NULL AND result_cms IS NOT NULL",
        )
        .bind(stored.reference)
        .bind(pb::Stage::Issued as i16)
        .bind(&presented)
        .bind(&operator.login)
        .bind(&on_poa)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(IntakeError::at(
                IntakeCode::AlreadyIssued,
                "reference",
                "the result was just handed over",
            ));
        }
        tracing::info!(reference = %stored.reference, on_power_of_attorney = on_poa.is_some(), "A result was handed over.");
        let content = cms::encapsulated_content(&cms_der)
            .map_err(|e| IntakeError::internal(format!("a stored result: {e}")))?;
        let document = ws::ResultDocument::decode(content.as_slice())
            .map_err(|e| IntakeError::internal(format!("a stored result: {e}")))?;
        Ok(pb::IssuedResult {
            request: Some(self.request(&r.reference).await?),
            cms: cms_der.into(),
            document: Some(document),
        })
    }
}
