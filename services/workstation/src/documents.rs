//! Result documents: the draft the examining employee makes (the result of
//! the regulation with its form's fields, or the reasoned refusal), the
//! head's signature over its exact bytes, and the checks on field values.
//!
//! A form is the result's `form` in the regulation when it names one of the
//! file's `[[forms]]` (seed 002's decision, App. 4); its fields are filled,
//! in order of priority, from what the employee (or the autopilot's
//! settings) gives, from what the workstation knows, and from the
//! application form's field of the same name (the decision repeats the
//! application's `body_name`, `appointment_decision`, `appointment_date`).
//! What the workstation knows, by field name:
//!
//! | field | value |
//! |---|---|
//! | `decision_number`, `case_number` | the journal number |
//! | `decision_date` | the day the draft is made (Asia/Almaty) |
//! | `body_name` | the provider's name |
//! | `citizen` | the applicant's full name |
//! | `application_date` | the day of registration (Asia/Almaty) |
//! | `refusal_reason` | a refusal's grounds and reasons (refusals only) |
//! | `head_name` | the signer's name, at signing |
//! | fields of type `signature` | the signer's EDS, at signing |
//!
//! A refusal uses the refusal result's form if it has one, otherwise the
//! approval result's (seed 002's App. 4 decision has "Отказано … по
//! причине", line 199). Where the seed has no form (most results: "App. 1 to
//! the Standard (not in the seed)"), the fields are what the employee gives.

use crate::error::{ApiCode, ApiError};
use crate::procedure::{self, Ground};
use crate::staff::Employee;
use chrono::{DateTime, Utc};
use egov_proto::prost::Message;
use egov_proto::workstation as pb;
use egov_regulations::{Channel, FieldType, Form, Regulation, ResultDocument, ResultKind};
use egov_trust::SigningKey;
use std::collections::{BTreeMap, HashSet};

/// What a draft is made of besides the employee's input.
pub struct DraftContext<'a> {
    pub regulation: &'a Regulation,
    pub channel: Channel,
    pub journal_number: &'a str,
    pub registered_at: DateTime<Utc>,
    pub provider_name: &'a str,
    pub provider_bin: &'a str,
    pub applicant: &'a pb::Person,
    pub application_form: &'a [pb::FormField],
    pub now: DateTime<Utc>,
}

/// The form of a result, when the regulation has its fields.
pub fn form_of<'r>(regulation: &'r Regulation, result: &ResultDocument) -> Option<&'r Form> {
    let code = result.form.as_deref()?;
    regulation.forms.iter().find(|f| f.code == code)
}

/// The regulation's application form, when it has one (seed 002 App. 1).
pub fn application_form(regulation: &Regulation) -> Option<&Form> {
    regulation.application_form()
}

fn local_date(at: DateTime<Utc>) -> String {
    egov_calendar::to_local(at).format("%Y-%m-%d").to_string()
}

pub fn full_name(person: &pb::Person) -> String {
    [
        person.surname.as_str(),
        person.given_name.as_str(),
        person.patronymic.as_str(),
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

fn known(ctx: &DraftContext<'_>, name: &str) -> Option<String> {
    Some(match name {
        "decision_number" | "case_number" => ctx.journal_number.to_owned(),
        "decision_date" => local_date(ctx.now),
        "body_name" => ctx.provider_name.to_owned(),
        "citizen" => full_name(ctx.applicant),
        "application_date" => local_date(ctx.registered_at),
        _ => return None,
    })
}

/// Fields set at signing, never by an employee.
fn set_at_signing(field: &egov_regulations::FormField) -> bool {
    matches!(field.field_type, FieldType::Signature | FieldType::Seal) || field.name == "head_name"
}

/// Fills `form`'s fields (form order) from the supplied values, what the
/// workstation knows and the application form.
fn fill(
    ctx: &DraftContext<'_>,
    form: Option<&Form>,
    supplied: &[pb::FormField],
    refusal_reason: Option<String>,
) -> Vec<pb::FormField> {
    let Some(form) = form else {
        return supplied.to_vec();
    };
    let given: BTreeMap<&str, &str> = supplied
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    let applied: BTreeMap<&str, &str> = ctx
        .application_form
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    form.fields
        .iter()
        .filter(|f| !set_at_signing(f))
        .filter_map(|f| {
            let value = if f.name == "refusal_reason" {
                refusal_reason.clone()
            } else {
                given
                    .get(f.name.as_str())
                    .map(|v| v.to_string())
                    .or_else(|| known(ctx, &f.name))
                    .or_else(|| applied.get(f.name.as_str()).map(|v| v.to_string()))
            };
            value.filter(|v| !v.is_empty()).map(|value| pb::FormField {
                name: f.name.clone(),
                value,
            })
        })
        .collect()
}

fn base(ctx: &DraftContext<'_>, result_code: &str, kind: &str, form: &str) -> pb::ResultDocument {
    pb::ResultDocument {
        journal_number: ctx.journal_number.to_owned(),
        regulation: ctx.regulation.code.clone(),
        result_code: result_code.to_owned(),
        kind: kind.to_owned(),
        form: form.to_owned(),
        provider_name: ctx.provider_name.to_owned(),
        provider_bin: ctx.provider_bin.to_owned(),
        applicant: Some(ctx.applicant.clone()),
        registered_at: Some(egov_bus::envelope::timestamp(ctx.registered_at)),
        ..Default::default()
    }
}

/// The draft of an approval: `result` with its form's fields.
pub fn approval(
    ctx: &DraftContext<'_>,
    result: &ResultDocument,
    supplied: &[pb::FormField],
) -> pb::ResultDocument {
    let form = form_of(ctx.regulation, result);
    let mut doc = base(
        ctx,
        &result.code,
        result.kind.code(),
        result.form.as_deref().unwrap_or(""),
    );
    doc.fields = fill(ctx, form, supplied, None);
    doc
}

/// The draft of a reasoned refusal on `grounds`, with `reasons`.
pub fn refusal(
    ctx: &DraftContext<'_>,
    grounds: Vec<Ground>,
    reasons: Vec<String>,
    missing_documents: Vec<String>,
) -> pb::ResultDocument {
    let regulation = ctx.regulation;
    let refusal_result = procedure::refusal_result(regulation);
    let approval_result = procedure::approval_result(regulation, ctx.channel, None);
    let form = refusal_result
        .and_then(|r| form_of(regulation, r))
        .or_else(|| approval_result.and_then(|r| form_of(regulation, r)));
    let reason = grounds
        .iter()
        .map(|g| g.text.clone())
        .chain(reasons.iter().cloned())
        .collect::<Vec<_>>()
        .join("; ");
    let mut doc = base(
        ctx,
        refusal_result.map_or("reasoned_refusal", |r| r.code.as_str()),
        ResultKind::Refusal.code(),
        form.map_or("", |f| f.code.as_str()),
    );
    doc.fields = fill(ctx, form, &[], Some(reason));
    doc.refusal = Some(pb::Refusal {
        grounds: grounds
            .into_iter()
            .map(|g| pb::Ground {
                code: g.code,
                text: g.text,
                source: g.source,
            })
            .collect(),
        reasons,
        missing_documents,
        element: procedure::refusal_element(regulation, ctx.channel),
    });
    doc
}

/// Completes a draft with the signer and signs its exact bytes: the bare
/// signature the mesh's receivers check, and the same as CMS SignedData
/// (attached) that people check from outside with `openssl cms -verify`.
pub fn sign(
    regulation: &Regulation,
    mut doc: pb::ResultDocument,
    signer: &Employee,
    key: &SigningKey,
    at: DateTime<Utc>,
) -> Result<pb::SignedDocument, ApiError> {
    doc.signed_at = Some(egov_bus::envelope::timestamp(at));
    doc.signer_iin = signer.iin.clone();
    doc.signer_name = signer.name.clone();
    if let Some(form) = regulation.forms.iter().find(|f| f.code == doc.form) {
        let mut filled: BTreeMap<String, String> =
            doc.fields.drain(..).map(|f| (f.name, f.value)).collect();
        for field in &form.fields {
            if field.field_type == FieldType::Signature {
                filled.insert(
                    field.name.clone(),
                    format!("ЭЦП / EDS: {}, ИИН {}", signer.name, signer.iin),
                );
            } else if field.name == "head_name" {
                filled.insert(field.name.clone(), signer.name.clone());
            }
        }
        doc.fields = form
            .fields
            .iter()
            .filter_map(|f| {
                filled.remove(&f.name).map(|value| pb::FormField {
                    name: f.name.clone(),
                    value,
                })
            })
            .collect();
    }
    let content = doc.encode_to_vec();
    let signature = key.sign(&content);
    let cms = egov_trust::cms::sign(
        &content,
        key,
        &signer.certificate,
        egov_trust::cms::Encapsulation::Attached,
        at,
    )
    .map_err(|e| ApiError::internal(format!("the result's CMS signature: {e}")))?;
    Ok(pb::SignedDocument {
        content: content.into(),
        signature: signature.into(),
        signer_certificate: signer.certificate.clone().into(),
        cms: cms.into(),
    })
}

// === field values ===

/// One rule for every system that takes a form (lib/regulations).
pub use egov_regulations::check_value;

/// Checks filled-in fields against `form` (names, types, duplicates), or,
/// without a form, that each has a name and a value. `path` names the list
/// in errors ("approve.fields"). With `for_result`, fields the signature
/// fills are refused.
pub fn check_fields(
    form: Option<&Form>,
    fields: &[pb::FormField],
    path: &str,
    for_result: bool,
) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for (i, field) in fields.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if field.name.trim().is_empty() {
            return Err(ApiError::missing(&format!("{at}.name")));
        }
        if !seen.insert(field.name.as_str()) {
            return Err(ApiError::invalid(
                ApiCode::DuplicateField,
                format!("{at}.name"),
                format!("{:?} is given twice", field.name),
            ));
        }
        let Some(form) = form else {
            // An application of a regulation without a form has no fields
            // to fill in (the portal and the intake refuse them too); a
            // result's fields are the provider's and stay free.
            if !for_result {
                return Err(ApiError::invalid(
                    ApiCode::UnknownField,
                    format!("{at}.name"),
                    format!(
                        "the regulation has no application form, so no field {:?}",
                        field.name
                    ),
                ));
            }
            if field.value.trim().is_empty() {
                return Err(ApiError::missing(&format!("{at}.value")));
            }
            continue;
        };
        let Some(spec) = form.fields.iter().find(|f| f.name == field.name) else {
            return Err(ApiError::invalid(
                ApiCode::UnknownField,
                format!("{at}.name"),
                format!(
                    "the form {:?} has no field {:?} (fields: {})",
                    form.code,
                    field.name,
                    form.fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if for_result && set_at_signing(spec) {
            return Err(ApiError::invalid(
                ApiCode::FieldNotSettable,
                format!("{at}.name"),
                format!("{:?} is filled in by the head's signature", field.name),
            ));
        }
        check_value(spec.field_type, &field.value).map_err(|problem| {
            ApiError::invalid(ApiCode::InvalidValue, format!("{at}.value"), problem)
        })?;
    }
    Ok(())
}

/// Decodes a stored draft or signed content.
pub fn decode(bytes: &[u8]) -> Result<pb::ResultDocument, ApiError> {
    pb::ResultDocument::decode(bytes)
        .map_err(|e| ApiError::internal(format!("a stored result document does not decode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_their_type() {
        assert!(check_value(FieldType::Date, "2026-11-23").is_ok());
        assert!(check_value(FieldType::Date, "23.11.2026").is_err());
        assert!(check_value(FieldType::Period, "2026-12-01..2027-11-30").is_ok());
        assert!(check_value(FieldType::Period, "2027-12-01..2027-11-30").is_err());
        assert!(check_value(FieldType::MoneyKzt, "45000.50").is_ok());
        assert!(check_value(FieldType::MoneyKzt, "45 000").is_err());
        assert!(check_value(FieldType::Iin, "123").is_err());
    }
}
