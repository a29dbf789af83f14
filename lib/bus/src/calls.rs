//! Synchronous calls waiting for their answers: the answer types, the
//! waiting calls by request id, and what an answer means for its call.

use crate::envelope::Opened;
use crate::error::CallError;
use egov_proto::envelope::{Kind, Rejection};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// An answer to a synchronous call.
#[derive(Debug)]
pub enum Reply {
    /// KIND_RESPONSE: the receiver's answer.
    Response(Opened),
    /// KIND_REJECT: the receiver's reasoned refusal.
    Rejected(Rejection, Opened),
}

impl Reply {
    pub fn opened(&self) -> &Opened {
        match self {
            Reply::Response(o) | Reply::Rejected(_, o) => o,
        }
    }
}

/// A call waiting for its answer.
pub(crate) struct Waiting {
    /// The SHA-256 of the request's signed bytes, which its answer repeats.
    pub request_hash: [u8; 32],
    pub answer: oneshot::Sender<Result<Reply, CallError>>,
}

/// The calls of this process waiting for answers, by request id.
#[derive(Default)]
pub(crate) struct WaitingCalls {
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl WaitingCalls {
    pub(crate) fn insert(&self, request_id: String, waiting: Waiting) {
        self.lock().insert(request_id, waiting);
    }

    pub(crate) fn remove(&self, request_id: &str) -> Option<Waiting> {
        self.lock().remove(request_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.waiting.lock().expect("pending calls lock")
    }
}

/// What an answer (its gateway stamp already checked) means for the call
/// that waits for it: the answer must name the request's exact bytes.
pub(crate) fn reply_of(answer: Opened, request_hash: &[u8; 32]) -> Result<Reply, CallError> {
    if answer.header.request_hash.as_ref() != request_hash {
        return Err(CallError::BadResponse(
            "the answer's request_hash does not match the request's bytes".into(),
        ));
    }
    match answer.kind() {
        Kind::Response => Ok(Reply::Response(answer)),
        Kind::Reject => match answer.decode::<Rejection>() {
            Ok(rejection) => Ok(Reply::Rejected(rejection, answer)),
            Err(e) => Err(CallError::BadResponse(format!(
                "rejection does not decode: {e}"
            ))),
        },
        other => Err(CallError::BadResponse(format!("unexpected kind {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_proto::envelope::{Envelope, Header};
    use egov_proto::prost::Message;

    const REQUEST_HASH: [u8; 32] = [7; 32];

    fn answer(kind: Kind, request_hash: [u8; 32], payload: Vec<u8>) -> Opened {
        Opened {
            envelope: Envelope::default(),
            header: Header {
                kind: kind as i32,
                request_hash: request_hash.to_vec().into(),
                ..Header::default()
            },
            payload: payload.into(),
        }
    }

    #[test]
    fn a_response_naming_the_requests_bytes_is_the_reply() {
        let reply = reply_of(
            answer(Kind::Response, REQUEST_HASH, b"ok".to_vec()),
            &REQUEST_HASH,
        );
        assert!(matches!(reply, Ok(Reply::Response(o)) if o.payload.as_ref() == b"ok"));
    }

    #[test]
    fn a_rejection_is_a_reply_carrying_the_receivers_reasons() {
        let rejection = Rejection {
            code: "person_not_found".into(),
            message: "no such IIN".into(),
            ..Rejection::default()
        };
        let opened = answer(Kind::Reject, REQUEST_HASH, rejection.encode_to_vec());
        match reply_of(opened, &REQUEST_HASH) {
            Ok(Reply::Rejected(got, _)) => assert_eq!(got, rejection),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn an_answer_naming_other_bytes_is_a_bad_response() {
        let reply = reply_of(answer(Kind::Response, [8; 32], Vec::new()), &REQUEST_HASH);
        assert!(matches!(reply, Err(CallError::BadResponse(_))));
    }

    #[test]
    fn an_undecodable_rejection_or_another_kind_is_a_bad_response() {
        let garbage = answer(Kind::Reject, REQUEST_HASH, vec![0xFF, 0xFF, 0xFF]);
        assert!(matches!(
            reply_of(garbage, &REQUEST_HASH),
            Err(CallError::BadResponse(_))
        ));
        let request = answer(Kind::Request, REQUEST_HASH, Vec::new());
        assert!(matches!(
            reply_of(request, &REQUEST_HASH),
            Err(CallError::BadResponse(_))
        ));
    }
}
