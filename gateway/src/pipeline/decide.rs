//! The gateway's verdict on a verified message against its records: a
//! duplicate, an answer to a request it delivered, a receipt applied
//! before, and where the message goes. A pure function of the message and
//! what is on record: no database, no broker.

use super::admission::Arrival;
use crate::store::Known;
use crate::verify::{Passed, Refusal, RejectCode};
use egov_bus::Names;
use egov_proto::envelope::{DeliveryStatus, Kind};
use std::collections::HashMap;

/// What the gateway has on record that bears on one batch.
pub(crate) struct OnRecord<'a> {
    /// Accepted messages by id: the batch's own ids and the requests its
    /// answers answer.
    pub known: &'a HashMap<uuid::Uuid, Known>,
    /// Messages accepted earlier in this same batch: id → signed hash.
    pub accepted_here: &'a HashMap<uuid::Uuid, [u8; 32]>,
    /// The batch is written again after a write whose outcome was unknown:
    /// its own messages found logged are resends, not duplicates.
    pub rewriting: bool,
}

/// Where messages go: queue names, and this instance's queue for answers
/// to gRPC Calls.
pub(crate) struct Addresses<'a> {
    pub names: &'a Names,
    pub bridge_queue: &'a str,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// New: log it and deliver it to `queue` (nowhere for a receipt, which
    /// the gateway applies). `reply_queue` is where a request's answer goes.
    Accept {
        queue: String,
        reply_queue: Option<String>,
    },
    /// Accepted before and come back after a failure: deliver it again
    /// under its existing log row.
    Redeliver {
        queue: String,
        seq: i64,
        hash: Vec<u8>,
    },
    /// The same receipts envelope again: applied once already.
    ReceiptSeen {
        seq: i64,
    },
    Refuse(Refusal),
}

/// The checks that need the record: duplicates, and whether an answer
/// answers a request this gateway delivered.
pub(crate) fn decide(
    p: &Passed,
    arrival: Arrival,
    record: &OnRecord<'_>,
    addresses: &Addresses<'_>,
) -> Verdict {
    let names = addresses.names;
    let header = &p.opened.header;
    let refuse = |code, detail: String| Verdict::Refuse(Refusal { code, detail });

    // Where it goes: for an answer, back along the request it answers.
    let route = || -> Result<(String, Option<String>), Verdict> {
        Ok(match p.kind {
            Kind::Response | Kind::Reject => {
                let request = header
                    .correlation_id
                    .parse()
                    .ok()
                    .and_then(|id: uuid::Uuid| record.known.get(&id));
                let Some(request) = request
                    .filter(|r| r.receiver == p.sender.as_str() && r.sender == p.receiver.as_str())
                else {
                    return Err(refuse(
                        RejectCode::UnknownRequest,
                        format!(
                            "no request {} from {} to {} passed through the gateway",
                            header.correlation_id, p.receiver, p.sender
                        ),
                    ));
                };
                if request.signed_hash != header.request_hash.as_ref() {
                    return Err(refuse(
                        RejectCode::RequestHashMismatch,
                        format!(
                            "request_hash does not match the signed bytes of request {}",
                            header.correlation_id
                        ),
                    ));
                }
                let queue = request
                    .reply_queue
                    .clone()
                    .unwrap_or_else(|| names.inbox(p.receiver));
                (queue, None)
            }
            Kind::Receipt => (String::new(), None),
            _ => {
                let reply_queue = if arrival.bridge {
                    Some(addresses.bridge_queue.to_owned())
                } else if !header.reply_to.is_empty() {
                    Some(names.reply(p.sender, &header.reply_to))
                } else {
                    None
                };
                (names.inbox(p.receiver), reply_queue)
            }
        })
    };
    // The checks against the record come in the README's order: a
    // duplicate id first, then what an answer answers.

    // Seen before?
    if let Some(hash) = record.accepted_here.get(&p.message_id) {
        let same = hash == &p.signed_hash;
        return refuse(RejectCode::DuplicateMessageId, duplicate_detail(same, None));
    }
    if let Some(existing) = record.known.get(&p.message_id) {
        // Receipts go to no queue: whatever brought them back (a redelivery
        // after a crash, a reconnect, a retried batch), they were applied.
        if p.kind == Kind::Receipt && existing.signed_hash == p.signed_hash {
            return Verdict::ReceiptSeen {
                seq: existing.log_seq,
            };
        }
        // The same bytes again after a crash or a failed delivery are
        // delivered again (the receiver skips what it has processed); any
        // other reuse of the id is refused, as SMEV 3's MessageIsAlreadySent.
        let same = existing.signed_hash == p.signed_hash;
        let resend_after_failure = record.rewriting
            || arrival.redelivered
            || arrival.attempt > 1
            || (existing.status == DeliveryStatus::Queued && existing.code == "delivery_failed");
        if same && resend_after_failure {
            let (queue, _) = match route() {
                Ok(route) => route,
                Err(refused) => return refused,
            };
            return Verdict::Redeliver {
                queue,
                seq: existing.log_seq,
                hash: existing.log_hash.clone(),
            };
        }
        return refuse(
            RejectCode::DuplicateMessageId,
            duplicate_detail(same, Some(existing)),
        );
    }
    match route() {
        Ok((queue, reply_queue)) => Verdict::Accept { queue, reply_queue },
        Err(refused) => refused,
    }
}

fn duplicate_detail(same: bool, existing: Option<&Known>) -> String {
    let what = if same {
        "this message was already accepted"
    } else {
        "another message with this id was already accepted"
    };
    match existing {
        Some(k) => format!(
            "{what} (log row {}, status {}); it is not delivered again",
            k.log_seq,
            k.status.as_str_name()
        ),
        None => format!("{what} in the same batch; it is not delivered again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_bus::envelope::Opened;
    use egov_proto::envelope::{Envelope, Header};
    use egov_trust::SystemId;

    const NOTARY_REQUEST: &str = "5f0c6a8e-3b1d-4c1e-9a57-0d2b7f6e1a01";

    fn names() -> Names {
        Names::new("unit").unwrap()
    }

    /// A verified message from `sender` to `receiver`; `bytes` stands for
    /// its signed bytes (only their hash matters here).
    fn passed(kind: Kind, sender: SystemId, receiver: SystemId, id: &str, bytes: u8) -> Passed {
        let header = Header {
            message_id: id.to_owned(),
            sender: sender.to_string(),
            receiver: receiver.to_string(),
            service: "poa-lookup".to_owned(),
            kind: kind as i32,
            ..Header::default()
        };
        Passed {
            opened: Opened {
                envelope: Envelope::default(),
                header,
                payload: Default::default(),
            },
            kind,
            sender,
            receiver,
            message_id: id.parse().unwrap(),
            signed_hash: [bytes; 32],
            expires_at: None,
        }
    }

    /// An answer from `sender` to `receiver` to the request `request`,
    /// naming the request's bytes by `request_hash`.
    fn answer(
        sender: SystemId,
        receiver: SystemId,
        request: &str,
        request_hash: [u8; 32],
    ) -> Passed {
        let mut p = passed(
            Kind::Response,
            sender,
            receiver,
            "9d3e1c55-7a0b-4e2f-8c61-2b4a9f0e7d02",
            7,
        );
        p.opened.header.correlation_id = request.to_owned();
        p.opened.header.request_hash = request_hash.to_vec().into();
        p
    }

    fn known(sender: SystemId, receiver: SystemId, bytes: u8) -> Known {
        Known {
            sender: sender.to_string(),
            receiver: receiver.to_string(),
            signed_hash: vec![bytes; 32],
            reply_queue: None,
            status: DeliveryStatus::Delivered,
            code: String::new(),
            log_seq: 41,
            log_hash: vec![0xAB; 32],
        }
    }

    fn first_arrival() -> Arrival {
        Arrival {
            redelivered: false,
            attempt: 1,
            bridge: false,
        }
    }

    fn verdict(p: &Passed, arrival: Arrival, known: &HashMap<uuid::Uuid, Known>) -> Verdict {
        let names = names();
        decide(
            p,
            arrival,
            &OnRecord {
                known,
                accepted_here: &HashMap::new(),
                rewriting: false,
            },
            &Addresses {
                names: &names,
                bridge_queue: "unit.reply.gateway.bridge",
            },
        )
    }

    fn refused_with(verdict: &Verdict) -> Option<RejectCode> {
        match verdict {
            Verdict::Refuse(refusal) => Some(refusal.code),
            _ => None,
        }
    }

    #[test]
    fn a_new_request_goes_to_the_receivers_inbox() {
        let p = passed(
            Kind::Request,
            SystemId::Intake,
            SystemId::Notary,
            NOTARY_REQUEST,
            1,
        );
        assert_eq!(
            verdict(&p, first_arrival(), &HashMap::new()),
            Verdict::Accept {
                queue: names().inbox(SystemId::Notary),
                reply_queue: None,
            }
        );
    }

    #[test]
    fn the_same_bytes_after_a_crash_are_delivered_again_under_their_log_row() {
        let p = passed(
            Kind::Request,
            SystemId::Intake,
            SystemId::Notary,
            NOTARY_REQUEST,
            1,
        );
        let on_record =
            HashMap::from([(p.message_id, known(SystemId::Intake, SystemId::Notary, 1))]);
        let redelivered = Arrival {
            redelivered: true,
            ..first_arrival()
        };
        let expected = Verdict::Redeliver {
            queue: names().inbox(SystemId::Notary),
            seq: 41,
            hash: vec![0xAB; 32],
        };
        assert_eq!(verdict(&p, redelivered, &on_record), expected);
        // So are the gateway's own retries of a failed delivery.
        let retried = Arrival {
            attempt: 2,
            ..first_arrival()
        };
        assert_eq!(verdict(&p, retried, &on_record), expected);
    }

    #[test]
    fn the_same_message_sent_again_by_its_sender_is_refused_as_a_duplicate() {
        let p = passed(
            Kind::Request,
            SystemId::Intake,
            SystemId::Notary,
            NOTARY_REQUEST,
            1,
        );
        let on_record =
            HashMap::from([(p.message_id, known(SystemId::Intake, SystemId::Notary, 1))]);
        assert_eq!(
            refused_with(&verdict(&p, first_arrival(), &on_record)),
            Some(RejectCode::DuplicateMessageId)
        );
    }

    #[test]
    fn another_message_under_a_known_id_is_refused_even_when_redelivered() {
        let p = passed(
            Kind::Request,
            SystemId::Intake,
            SystemId::Notary,
            NOTARY_REQUEST,
            2,
        );
        let on_record =
            HashMap::from([(p.message_id, known(SystemId::Intake, SystemId::Notary, 1))]);
        let redelivered = Arrival {
            redelivered: true,
            ..first_arrival()
        };
        let verdict = verdict(&p, redelivered, &on_record);
        assert_eq!(refused_with(&verdict), Some(RejectCode::DuplicateMessageId));
        let Verdict::Refuse(refusal) = verdict else {
            unreachable!()
        };
        assert!(refusal.detail.starts_with("another message with this id"));
    }

    #[test]
    fn a_second_message_under_an_id_accepted_in_the_same_batch_is_refused() {
        let p = passed(
            Kind::Request,
            SystemId::Intake,
            SystemId::Notary,
            NOTARY_REQUEST,
            2,
        );
        let names = names();
        let verdict = decide(
            &p,
            first_arrival(),
            &OnRecord {
                known: &HashMap::new(),
                accepted_here: &HashMap::from([(p.message_id, [1; 32])]),
                rewriting: false,
            },
            &Addresses {
                names: &names,
                bridge_queue: "",
            },
        );
        assert_eq!(refused_with(&verdict), Some(RejectCode::DuplicateMessageId));
    }

    #[test]
    fn a_receipts_envelope_seen_before_is_acknowledged_and_never_routed() {
        let p = passed(
            Kind::Receipt,
            SystemId::Notary,
            SystemId::Gateway,
            NOTARY_REQUEST,
            3,
        );
        let on_record =
            HashMap::from([(p.message_id, known(SystemId::Notary, SystemId::Gateway, 3))]);
        for arrival in [
            first_arrival(),
            Arrival {
                redelivered: true,
                attempt: 2,
                bridge: false,
            },
        ] {
            assert_eq!(
                verdict(&p, arrival, &on_record),
                Verdict::ReceiptSeen { seq: 41 }
            );
        }
    }

    #[test]
    fn an_answer_to_an_unknown_request_is_refused() {
        let p = answer(SystemId::Notary, SystemId::Intake, NOTARY_REQUEST, [1; 32]);
        assert_eq!(
            refused_with(&verdict(&p, first_arrival(), &HashMap::new())),
            Some(RejectCode::UnknownRequest)
        );
    }

    #[test]
    fn an_answer_from_a_system_the_request_did_not_go_to_is_refused() {
        let request = known(SystemId::Intake, SystemId::Notary, 1);
        let on_record = HashMap::from([(NOTARY_REQUEST.parse().unwrap(), request)]);
        let p = answer(
            SystemId::Individuals,
            SystemId::Intake,
            NOTARY_REQUEST,
            [1; 32],
        );
        assert_eq!(
            refused_with(&verdict(&p, first_arrival(), &on_record)),
            Some(RejectCode::UnknownRequest)
        );
    }

    #[test]
    fn an_answer_naming_other_bytes_than_the_requests_is_refused() {
        let request = known(SystemId::Intake, SystemId::Notary, 1);
        let on_record = HashMap::from([(NOTARY_REQUEST.parse().unwrap(), request)]);
        let p = answer(SystemId::Notary, SystemId::Intake, NOTARY_REQUEST, [9; 32]);
        assert_eq!(
            refused_with(&verdict(&p, first_arrival(), &on_record)),
            Some(RejectCode::RequestHashMismatch)
        );
    }

    #[test]
    fn a_response_goes_to_the_reply_queue_of_its_request() {
        let mut request = known(SystemId::Intake, SystemId::Notary, 1);
        request.reply_queue = Some("unit.reply.intake.instance-1".to_owned());
        let on_record = HashMap::from([(NOTARY_REQUEST.parse().unwrap(), request)]);
        let p = answer(SystemId::Notary, SystemId::Intake, NOTARY_REQUEST, [1; 32]);
        assert_eq!(
            verdict(&p, first_arrival(), &on_record),
            Verdict::Accept {
                queue: "unit.reply.intake.instance-1".to_owned(),
                reply_queue: None,
            }
        );
    }

    #[test]
    fn a_response_to_an_asynchronous_request_goes_to_the_askers_inbox() {
        let request = known(SystemId::Intake, SystemId::Notary, 1);
        let on_record = HashMap::from([(NOTARY_REQUEST.parse().unwrap(), request)]);
        let p = answer(SystemId::Notary, SystemId::Intake, NOTARY_REQUEST, [1; 32]);
        assert_eq!(
            verdict(&p, first_arrival(), &on_record),
            Verdict::Accept {
                queue: names().inbox(SystemId::Intake),
                reply_queue: None,
            }
        );
    }

    #[test]
    fn a_grpc_call_is_answered_through_this_gateways_bridge_queue() {
        let p = passed(
            Kind::Request,
            SystemId::Intake,
            SystemId::Notary,
            NOTARY_REQUEST,
            1,
        );
        let bridged = Arrival {
            bridge: true,
            ..first_arrival()
        };
        assert_eq!(
            verdict(&p, bridged, &HashMap::new()),
            Verdict::Accept {
                queue: names().inbox(SystemId::Notary),
                reply_queue: Some("unit.reply.gateway.bridge".to_owned()),
            }
        );
    }
}
