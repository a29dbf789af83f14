//! The specialist's examination as a document: the draft of the result of
//! the service, or of a reasoned refusal, checked against the regulation.
//! The head signs the draft later, unchanged.

use super::{Action, Workstation};
use crate::documents::{self, DraftContext};
use crate::error::{ApiCode, ApiError};
use crate::journal::AppRow;
use crate::model::Decision;
use crate::procedure::{self, Ground};
use chrono::Utc;
use egov_proto::workstation as pb;
use egov_regulations::Regulation;

/// The draft `action` (approve or refuse) makes of `app`, and the decision.
pub(super) fn draft(
    workstation: &Workstation,
    regulation: &Regulation,
    app: &AppRow,
    action: Action,
) -> Result<(Decision, pb::ResultDocument), ApiError> {
    let application = app.application();
    let applicant = application.applicant.clone().unwrap_or_default();
    let ctx = DraftContext {
        regulation,
        channel: app.channel,
        journal_number: &app.journal_number,
        registered_at: app.registered_at,
        provider_name: &workstation.tuning.provider_name,
        provider_bin: &workstation.tuning.provider_bin,
        applicant: &applicant,
        application_form: &application.form,
        now: Utc::now(),
    };
    match action {
        Action::Approve {
            fields,
            result_code,
        } => Ok((Decision::Approve, approval(&ctx, &fields, &result_code)?)),
        Action::Refuse {
            grounds,
            reasons,
            missing_documents,
        } => Ok((
            Decision::Refuse,
            refusal(&ctx, &grounds, reasons, missing_documents)?,
        )),
        _ => Err(ApiError::internal("draft called for a non-examine action")),
    }
}

/// The result the regulation gives through the channel (or the one named),
/// with the form's fields the specialist filled in.
fn approval(
    ctx: &DraftContext<'_>,
    fields: &[pb::FormField],
    result_code: &str,
) -> Result<pb::ResultDocument, ApiError> {
    let (regulation, channel) = (ctx.regulation, ctx.channel);
    let code = (!result_code.is_empty()).then_some(result_code);
    let result =
        procedure::approval_result(regulation, channel, code).ok_or_else(|| match code {
            Some(code) => ApiError::invalid(
                ApiCode::UnknownResult,
                "approve.result_code",
                format!(
                    "regulation {} gives no result {code:?} through the {channel} channel",
                    regulation.code
                ),
            ),
            None => ApiError::new(
                ApiCode::NoResultForChannel,
                format!(
                    "regulation {} gives no result through the {channel} channel",
                    regulation.code
                ),
            ),
        })?;
    documents::check_fields(
        documents::form_of(regulation, result),
        fields,
        "approve.fields",
        true,
    )?;
    Ok(documents::approval(ctx, result, fields))
}

/// A reasoned refusal: at least one of the regulation's grounds and the
/// specialist's reasons, with the documents found missing.
fn refusal(
    ctx: &DraftContext<'_>,
    grounds: &[String],
    reasons: Vec<String>,
    missing_documents: Vec<String>,
) -> Result<pb::ResultDocument, ApiError> {
    let regulation = ctx.regulation;
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
        let ground = procedure::ground(regulation, ctx.channel, code)
            .ok_or_else(|| unknown_ground(regulation, i, code))?;
        if !named.contains(&ground) {
            named.push(ground);
        }
    }
    for (i, code) in missing_documents.iter().enumerate() {
        if regulation.document(code).is_none() {
            return Err(ApiError::invalid(
                ApiCode::UnknownDocument,
                format!("refuse.missing_documents[{i}]"),
                format!("regulation {} lists no document {code:?}", regulation.code),
            ));
        }
    }
    Ok(documents::refusal(ctx, named, reasons, missing_documents))
}

fn unknown_ground(regulation: &Regulation, index: usize, code: &str) -> ApiError {
    let mut known: Vec<&str> = regulation
        .refusal_grounds
        .iter()
        .map(|g| g.code.as_str())
        .collect();
    known.push(procedure::INCOMPLETE_PACKAGE);
    ApiError::invalid(
        ApiCode::UnknownGround,
        format!("refuse.grounds[{index}]"),
        format!(
            "{code:?} is not a ground of regulation {} (grounds: {})",
            regulation.code,
            known.join(", ")
        ),
    )
}
