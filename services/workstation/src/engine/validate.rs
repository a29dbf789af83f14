//! The checks of a submission, before anything is written: the clear error
//! names the field at fault.

use super::{Submission, Workstation};
use crate::convert;
use crate::documents;
use crate::error::{ApiCode, ApiError};
use crate::model::Origin;
use egov_proto::workstation as pb;
use egov_regulations::{Channel, FieldType, Registry, Regulation};
use egov_trust::Iin;
use std::collections::HashSet;

impl Workstation {
    /// Checks a submission against the regulations the workstation runs.
    pub fn validate(&self, submission: &Submission) -> Result<(&Regulation, Channel), ApiError> {
        check(
            &self.regulations,
            self.tuning.max_document_bytes,
            submission,
        )
    }
}

/// Checks a submission, in the order a reader of the form would: the
/// conversation, the regulation, the channel, the people, the documents,
/// the form's fields. The first problem found is the error.
pub fn check<'r>(
    regulations: &'r Registry,
    max_document_bytes: usize,
    submission: &Submission,
) -> Result<(&'r Regulation, Channel), ApiError> {
    let app = &submission.application;
    if submission.origin != Origin::Office && submission.conversation_id.trim().is_empty() {
        return Err(ApiError::invalid(
            ApiCode::MissingField,
            "header.conversation_id",
            "an application travels in a conversation (the sender's case id)",
        ));
    }
    let regulation = find_regulation(regulations, &app.regulation)?;
    let channel = check_channel(regulation, submission)?;
    let applicant = app
        .applicant
        .as_ref()
        .ok_or_else(|| ApiError::missing("applicant"))?;
    check_person(applicant, "applicant")?;
    if let Some(representative) = &app.representative {
        check_representative(representative)?;
    }
    let mut attached = HashSet::new();
    for (i, doc) in app.documents.iter().enumerate() {
        let at = format!("documents[{i}]");
        check_document(
            regulation,
            channel,
            max_document_bytes,
            doc,
            &mut attached,
            &at,
        )?;
    }
    documents::check_fields(
        documents::application_form(regulation),
        &app.form,
        "form",
        false,
    )?;
    Ok((regulation, channel))
}

fn find_regulation<'r>(regulations: &'r Registry, code: &str) -> Result<&'r Regulation, ApiError> {
    if code.trim().is_empty() {
        return Err(ApiError::missing("regulation"));
    }
    regulations.get(code).ok_or_else(|| {
        ApiError::invalid(
            ApiCode::UnknownRegulation,
            "regulation",
            format!(
                "no regulation {code:?} (known: {})",
                regulations
                    .iter()
                    .map(|r| r.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// The channel is the origin's (the office's is implied), and the
/// regulation takes applications through it.
fn check_channel(regulation: &Regulation, submission: &Submission) -> Result<Channel, ApiError> {
    let expected = submission.origin.channel();
    let channel = match submission.origin {
        Origin::Office => expected,
        _ => convert::channel_from_proto(submission.application.channel)
            .ok_or_else(|| ApiError::missing("channel"))?,
    };
    if channel != expected {
        return Err(ApiError::invalid(
            ApiCode::ChannelMismatch,
            "channel",
            format!(
                "an application from {} comes through the {expected} channel, not {channel}",
                submission.origin.code(),
            ),
        ));
    }
    if !regulation.channel(channel).is_some_and(|c| c.intake) {
        return Err(ApiError::invalid(
            ApiCode::ChannelNotOffered,
            "channel",
            format!(
                "regulation {} does not take applications through the {channel} channel",
                regulation.code
            ),
        ));
    }
    Ok(channel)
}

fn check_representative(representative: &pb::Representative) -> Result<(), ApiError> {
    let person = representative
        .person
        .as_ref()
        .ok_or_else(|| ApiError::missing("representative.person"))?;
    check_person(person, "representative.person")?;
    if representative.power_of_attorney_number.trim().is_empty() {
        return Err(ApiError::missing("representative.power_of_attorney_number"));
    }
    documents::check_value(FieldType::Date, &representative.power_of_attorney_date).map_err(
        |problem| {
            ApiError::invalid(
                ApiCode::InvalidValue,
                "representative.power_of_attorney_date",
                problem,
            )
        },
    )
}

/// One attached document (at `at`): a document of the regulation, not
/// among those `attached` before it, not too large, carrying its bytes or
/// its SHA-256, the two agreeing — or, at a counter, an original on paper.
fn check_document<'d>(
    regulation: &Regulation,
    channel: Channel,
    max_document_bytes: usize,
    doc: &'d pb::Document,
    attached: &mut HashSet<&'d str>,
    at: &str,
) -> Result<(), ApiError> {
    if doc.code.trim().is_empty() {
        return Err(ApiError::missing(&format!("{at}.code")));
    }
    if regulation.document(&doc.code).is_none() {
        return Err(ApiError::invalid(
            ApiCode::UnknownDocument,
            format!("{at}.code"),
            format!(
                "regulation {} lists no document {:?} (documents: {})",
                regulation.code,
                doc.code,
                regulation
                    .documents
                    .iter()
                    .map(|d| d.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !attached.insert(doc.code.as_str()) {
        return Err(ApiError::invalid(
            ApiCode::DuplicateDocument,
            format!("{at}.code"),
            format!("{:?} is attached twice", doc.code),
        ));
    }
    if doc.content.len() > max_document_bytes {
        return Err(ApiError::invalid(
            ApiCode::DocumentTooLarge,
            format!("{at}.content"),
            format!(
                "{} bytes; at most {max_document_bytes} are accepted",
                doc.content.len()
            ),
        ));
    }
    if doc.on_paper && !matches!(channel, Channel::StateCorporation | Channel::ProviderOffice) {
        return Err(ApiError::invalid(
            ApiCode::InvalidValue,
            format!("{at}.on_paper"),
            format!("a {channel} application carries its documents electronically"),
        ));
    }
    if doc.on_paper && doc.content.is_empty() && doc.sha256.is_empty() {
        return Ok(());
    }
    if doc.content.is_empty() && doc.sha256.is_empty() {
        return Err(ApiError::invalid(
            ApiCode::EmptyDocument,
            at,
            "a document carries its bytes, its SHA-256, or both",
        ));
    }
    if doc.sha256.is_empty() {
        return Ok(());
    }
    if doc.sha256.len() != 32 {
        return Err(ApiError::invalid(
            ApiCode::InvalidHash,
            format!("{at}.sha256"),
            format!("a SHA-256 has 32 bytes, this has {}", doc.sha256.len()),
        ));
    }
    if !doc.content.is_empty() && egov_trust::sha256(&doc.content).as_slice() != doc.sha256.as_ref()
    {
        return Err(ApiError::invalid(
            ApiCode::DocumentHashMismatch,
            format!("{at}.sha256"),
            "the SHA-256 does not match the document's bytes",
        ));
    }
    Ok(())
}

fn check_person(person: &pb::Person, path: &str) -> Result<(), ApiError> {
    if person.iin.trim().is_empty() {
        return Err(ApiError::missing(&format!("{path}.iin")));
    }
    Iin::parse(&person.iin).map_err(|e| {
        ApiError::invalid(
            ApiCode::InvalidIin,
            format!("{path}.iin"),
            format!("{}: {e}", e.code()),
        )
    })?;
    for (name, value) in [
        ("surname", &person.surname),
        ("given_name", &person.given_name),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::missing(&format!("{path}.{name}")));
        }
    }
    Ok(())
}
