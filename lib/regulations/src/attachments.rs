//! Whether an attached file can be taken, one rule for every counter that
//! takes files (the portal's electronic application, the State
//! Corporation's scans): listed for the channel, attached once, not empty,
//! within the size limit, of an accepted type, and its hash its own. Each
//! system maps a problem to its own refusal code.

use std::collections::HashSet;

/// An attached file as a counter receives it.
pub struct Attachment<'a> {
    pub code: &'a str,
    pub media_type: &'a str,
    pub content: &'a [u8],
    /// SHA-256 the sender gave, or empty.
    pub sha256: &'a [u8],
}

/// The counter's limits (its settings).
pub struct AttachmentLimits<'a> {
    pub max_bytes: usize,
    pub media_types: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentProblem {
    /// The regulation does not ask for it through this channel.
    Unlisted,
    /// The same document twice.
    Twice,
    Empty,
    TooLarge {
        size: usize,
        limit: usize,
    },
    TypeNotAccepted,
    /// The given hash is not the file's.
    HashMismatch,
}

impl AttachmentProblem {
    /// What is wrong, for a person.
    pub fn words(&self, attachment: &Attachment<'_>, limits: &AttachmentLimits<'_>) -> String {
        match self {
            AttachmentProblem::Unlisted => format!(
                "the service does not ask for {:?} through this channel",
                attachment.code
            ),
            AttachmentProblem::Twice => "attached twice".into(),
            AttachmentProblem::Empty => "the file is empty".into(),
            AttachmentProblem::TooLarge { size, limit } => {
                format!("{size} bytes; at most {limit}")
            }
            AttachmentProblem::TypeNotAccepted => format!(
                "{:?} is not accepted (accepted: {})",
                attachment.media_type,
                limits.media_types.join(", ")
            ),
            AttachmentProblem::HashMismatch => "the hash does not match the file".into(),
        }
    }

    /// The field at fault, below the attachment's own path (`at`).
    pub fn field(&self, at: &str) -> String {
        match self {
            AttachmentProblem::TypeNotAccepted => format!("{at}.media_type"),
            AttachmentProblem::HashMismatch => format!("{at}.sha256"),
            _ => at.to_owned(),
        }
    }
}

/// Checks one attached file; `seen` collects the codes taken so far.
pub fn check_attachment(
    attachment: &Attachment<'_>,
    listed: bool,
    seen: &mut HashSet<String>,
    limits: &AttachmentLimits<'_>,
) -> Result<(), AttachmentProblem> {
    if !listed {
        return Err(AttachmentProblem::Unlisted);
    }
    if !seen.insert(attachment.code.to_owned()) {
        return Err(AttachmentProblem::Twice);
    }
    if attachment.content.is_empty() {
        return Err(AttachmentProblem::Empty);
    }
    if attachment.content.len() > limits.max_bytes {
        return Err(AttachmentProblem::TooLarge {
            size: attachment.content.len(),
            limit: limits.max_bytes,
        });
    }
    if !limits
        .media_types
        .iter()
        .any(|t| t.eq_ignore_ascii_case(attachment.media_type.trim()))
    {
        return Err(AttachmentProblem::TypeNotAccepted);
    }
    if !attachment.sha256.is_empty()
        && attachment.sha256 != egov_trust::sha256(attachment.content).as_slice()
    {
        return Err(AttachmentProblem::HashMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_of_an_attachment_is_told_apart() {
        let types = vec!["application/pdf".to_owned()];
        let limits = AttachmentLimits {
            max_bytes: 4,
            media_types: &types,
        };
        let file =
            |content: &'static [u8], media_type: &'static str, sha256: &'static [u8]| Attachment {
                code: "application",
                media_type,
                content,
                sha256,
            };
        let check = |a: &Attachment<'_>, listed: bool| {
            check_attachment(a, listed, &mut HashSet::new(), &limits)
        };
        assert_eq!(check(&file(b"pdf", "application/pdf", b""), true), Ok(()));
        assert_eq!(
            check(&file(b"pdf", "application/pdf", b""), false),
            Err(AttachmentProblem::Unlisted)
        );
        assert_eq!(
            check(&file(b"", "application/pdf", b""), true),
            Err(AttachmentProblem::Empty)
        );
        assert_eq!(
            check(&file(b"12345", "application/pdf", b""), true),
            Err(AttachmentProblem::TooLarge { size: 5, limit: 4 })
        );
        assert_eq!(
            check(&file(b"pdf", "image/gif", b""), true),
            Err(AttachmentProblem::TypeNotAccepted)
        );
        assert_eq!(
            check(&file(b"pdf", "application/pdf", b"not the hash"), true),
            Err(AttachmentProblem::HashMismatch)
        );
        let mut seen = HashSet::new();
        let a = file(b"pdf", "application/pdf", b"");
        assert_eq!(check_attachment(&a, true, &mut seen, &limits), Ok(()));
        assert_eq!(
            check_attachment(&a, true, &mut seen, &limits),
            Err(AttachmentProblem::Twice)
        );
    }
}
