//! The bad-input corpus (issue 12, point 4): `tests/corpus/bad-inputs.toml`
//! lists what an attacker or a broken partner sends to each external door
//! of the mesh and the stable code each must be refused with; this module
//! builds each input (its `input` names a recipe below, `value`
//! parametrises it), sends it to a running mesh — every system its own
//! process — and checks the code, then that nothing was written or
//! delivered. It prints how many cases were tried and refused.
//!
//! "Nothing written": no application at the portal or the workstation, no
//! request or package at the intake, no citizen more. "Nothing delivered":
//! a message the gateway refused has its refusal in the log and no
//! accepted row and no delivery status under its id. A `handler` case is a
//! message the gateway rightly accepts and its receiver refuses: the
//! gateway's status for it is REJECTED with the receiver's code (or the
//! registry's KIND_REJECT answers the call), and nothing is registered.

#![allow(clippy::needless_update)]

use crate::citizen::{Citizen, PASSWORD, complete_draft, sign_with};
use crate::mesh::{Mesh, Options, PATIENCE};
use chrono::{Duration as Days, Utc};
use egov_bus::envelope::{self, new_message_id, timestamp};
use egov_harness::{authorized, refusal_code, scanned_document};
use egov_proto::envelope::{
    DeliveryStatus, Envelope, Header, Kind, Receipts, Rejection, SignedPart, StatusChange,
};
use egov_proto::gateway::{self as gw, gateway_client::GatewayClient};
use egov_proto::individuals::PersonByIinRequest;
use egov_proto::intake as ik;
use egov_proto::portal as pt;
use egov_proto::prost::Message;
use egov_proto::registry::{
    FaultKind, FaultMode, SetFaultRequest, registry_admin_client::RegistryAdminClient,
};
use egov_proto::workstation as ws;
use egov_trust::{CertificateAuthority, Iin, Issued, SigningKey, SubjectSpec, SystemId};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct Case {
    interface: String,
    input: String,
    #[serde(default)]
    value: String,
    expect: String,
    why: String,
}

/// What a door answered.
#[derive(Debug)]
enum Answer {
    /// Refused with this code; for a message, its id.
    Refused(String, Option<String>),
    /// Taken (a message the gateway accepted, with its id).
    Taken(Option<String>),
}

/// A signer: a key and the certificate presented with it.
struct Signer {
    key: SigningKey,
    certificate: Vec<u8>,
}

impl Signer {
    fn of(issued: &Issued) -> Signer {
        Signer {
            key: issued.signing_key(),
            certificate: issued.certificate_der.clone(),
        }
    }
}

/// What the corpus needs in place before it starts.
struct Stage<'m> {
    mesh: &'m Mesh,
    portal: Signer,
    intake: Signer,
    foreign_ca: Signer,
    expired: Signer,
    future: Signer,
    revoked: Signer,
    citizen_as_system: Signer,
    citizen: Citizen,
    /// Another citizen, with an application that reached its result.
    other: Citizen,
    other_reference: String,
    accepted_message: String,
    operator: String,
    courier: String,
    /// A draft with no consent, never checked.
    bare_draft: String,
    clerk: String,
}

fn days(n: i64) -> Days {
    Days::days(n)
}

/// A valid IIN the population does not have.
fn unknown_iin() -> String {
    Iin::generate(
        chrono::NaiveDate::from_ymd_opt(1991, 2, 3).expect("a date"),
        egov_trust::iin::Sex::Female,
        888,
    )
    .expect("an IIN")
    .to_string()
}

/// `iin` with its check digit changed.
fn bad_check_digit(iin: &str) -> String {
    let mut wrong = iin.to_owned();
    let last = wrong.pop().expect("an IIN");
    wrong.push(if last == '0' { '1' } else { '0' });
    wrong
}

fn value_of<'v>(value: &'v str, key: &str) -> Option<&'v str> {
    value.strip_prefix(key)?.strip_prefix('=')
}

impl Stage<'_> {
    fn gateway(&self) -> GatewayClient<tonic::transport::Channel> {
        GatewayClient::new(self.mesh.channel(SystemId::Gateway))
    }

    fn header(&self, receiver: &str, service: &str, kind: Kind) -> Header {
        let now = Utc::now();
        Header {
            protocol_version: 1,
            message_id: new_message_id(),
            conversation_id: format!("corpus-{}", new_message_id()),
            sender: SystemId::Portal.to_string(),
            receiver: receiver.into(),
            service: service.into(),
            kind: kind as i32,
            created_at: Some(timestamp(now)),
            expires_at: Some(timestamp(now + Days::minutes(5))),
            consent_reference: "corpus-consent".into(),
            ..Default::default()
        }
    }

    /// A portal application as the workstation expects it from the portal.
    fn application(&self) -> ws::Application {
        let person = &self.citizen.person;
        ws::Application {
            regulation: "003".into(),
            channel: ws::Channel::Portal as i32,
            applicant: Some(ws::Person {
                iin: person.iin.clone(),
                surname: person.surname.clone(),
                given_name: person.given_name.clone(),
                ..Default::default()
            }),
            documents: vec![scanned_document("application")],
            reference: new_message_id(),
            ..Default::default()
        }
    }

    /// The application submission, sealed by the portal: what Send and
    /// the handler cases start from.
    fn submission(&self) -> (Header, Vec<u8>) {
        (
            self.header("workstation", "submit-application", Kind::Request),
            self.application().encode_to_vec(),
        )
    }

    /// A look-up in ЖТ МДБ, what Call starts from.
    fn lookup(&self, iin: &str) -> (Header, Vec<u8>) {
        (
            self.header("individuals", "person-by-iin", Kind::Request),
            PersonByIinRequest {
                iin: iin.into(),
                ..Default::default()
            }
            .encode_to_vec(),
        )
    }

    /// The envelope of `recipe` built on `(header, payload)`.
    fn envelope(&self, recipe: &str, value: &str, base: (Header, Vec<u8>)) -> Envelope {
        let (mut header, mut payload) = base;
        let mut signer = &self.portal;
        match recipe {
            "message_id" => header.message_id = value.into(),
            "protocol_version" => header.protocol_version = value.parse().expect("a number"),
            "kind_unspecified" => header.kind = Kind::Unspecified as i32,
            "sender" => header.sender = value.into(),
            "receiver" => header.receiver = value.into(),
            "route" => {
                let (receiver, service) = value.split_once(' ').expect("receiver service");
                header.receiver = receiver.into();
                header.service = service.into();
            }
            "delivery_status_from_a_system" => header.kind = Kind::DeliveryStatus as i32,
            "expired_message" => {
                header.created_at = Some(timestamp(Utc::now() - Days::minutes(10)));
                header.expires_at = Some(timestamp(Utc::now() - Days::minutes(1)));
            }
            "replayed_id" => header.message_id = self.accepted_message.clone(),
            "answer_to_no_request" => {
                header.kind = match value {
                    "reject" => Kind::Reject as i32,
                    _ => Kind::Response as i32,
                };
                header.receiver = "workstation".into();
                header.correlation_id = new_message_id();
                header.request_hash = egov_trust::sha256(b"no such request").to_vec().into();
            }
            "receipt_for_someone_elses_message" => {
                header.kind = Kind::Receipt as i32;
                header.receiver = "gateway".into();
                header.service = "receipt".into();
                payload = Receipts {
                    receipts: vec![StatusChange {
                        message_id: self.accepted_message.clone(),
                        status: DeliveryStatus::DeadLettered as i32,
                        code: "forged".into(),
                        ..Default::default()
                    }],
                }
                .encode_to_vec();
            }
            "signed_by_another_key" => {
                return self.seal_with(&self.intake.key, &self.portal.certificate, header, payload);
            }
            "foreign_ca" => signer = &self.foreign_ca,
            "expired_certificate" => signer = &self.expired,
            "future_certificate" => signer = &self.future,
            "revoked_certificate" => signer = &self.revoked,
            "someone_elses_certificate" => signer = &self.intake,
            "citizens_certificate" => signer = &self.citizen_as_system,
            _ => {}
        }
        let mut sealed = self.seal_with(&signer.key, &signer.certificate, header, payload);
        match recipe {
            "signed_part_not_protobuf" => {
                sealed.signed = b"\xff\xff\xff not protobuf".to_vec().into()
            }
            "signed_part_truncated" => {
                let cut = sealed.signed.len() / 2;
                sealed.signed = sealed.signed.slice(..cut);
            }
            "no_header" => {
                sealed.signed = SignedPart {
                    header: None,
                    payload: b"x".to_vec().into(),
                }
                .encode_to_vec()
                .into();
            }
            "signature_flipped" => {
                let mut signature = sealed.signature.to_vec();
                let last = signature.len() - 1;
                signature[last] ^= 0x01;
                sealed.signature = signature.into();
            }
            "signed_bytes_changed" => {
                let mut signed = sealed.signed.to_vec();
                let last = signed.len() - 1;
                signed[last] ^= 0x20;
                sealed.signed = signed.into();
            }
            "signature_empty" => sealed.signature = Default::default(),
            "certificate_garbage" => {
                sealed.signer_certificate = b"not a certificate".to_vec().into()
            }
            _ => {}
        }
        // The truncated and headerless parts must still carry a signature
        // over what they carry, so the gateway meets the defect itself.
        if matches!(
            recipe,
            "signed_part_not_protobuf" | "signed_part_truncated" | "no_header"
        ) {
            sealed.signature = self.portal.key.sign(&sealed.signed).into();
        }
        sealed
    }

    fn seal_with(
        &self,
        key: &SigningKey,
        certificate: &[u8],
        header: Header,
        payload: Vec<u8>,
    ) -> Envelope {
        let signed = SignedPart {
            header: Some(header),
            payload: payload.into(),
        }
        .encode_to_vec();
        Envelope {
            signature: key.sign(&signed).into(),
            signed: signed.into(),
            signer_certificate: certificate.to_vec().into(),
            ..Default::default()
        }
    }

    async fn send(&self, envelope: Envelope) -> Answer {
        let id = envelope::open_envelope(envelope.clone())
            .ok()
            .map(|o| o.header.message_id)
            .filter(|id| !id.is_empty());
        match self
            .gateway()
            .send(gw::SendRequest {
                envelope: Some(envelope),
            })
            .await
        {
            Ok(sent) => Answer::Taken(Some(sent.into_inner().message_id)),
            Err(status) => Answer::Refused(refusal_code(&status, "gateway.egov-mesh"), id),
        }
    }

    async fn call(&self, envelope: Envelope) -> Answer {
        let id = envelope::open_envelope(envelope.clone())
            .ok()
            .map(|o| o.header.message_id);
        match self
            .gateway()
            .call(gw::CallRequest {
                envelope: Some(envelope),
            })
            .await
        {
            Ok(answer) => {
                let answer = answer.into_inner().response.expect("an answer envelope");
                let opened = envelope::open_envelope(answer).expect("the answer opens");
                if opened.kind() == Kind::Reject {
                    let rejection: Rejection = opened.decode().expect("a Rejection");
                    Answer::Refused(rejection.code, None)
                } else {
                    Answer::Taken(id)
                }
            }
            Err(status) => Answer::Refused(refusal_code(&status, "gateway.egov-mesh"), id),
        }
    }

    /// A message the gateway accepts and its receiver refuses: the final
    /// status's code.
    async fn handled(&self, envelope: Envelope) -> Answer {
        let Answer::Taken(Some(id)) = self.send(envelope).await else {
            panic!("the gateway refused a well-formed message");
        };
        let what = format!("a final status of {id}");
        let status = egov_testkit::wait::until(PATIENCE, &what, || async {
            let status = self
                .gateway()
                .get_status(gw::GetStatusRequest {
                    message_id: id.clone(),
                    credential: Some(self.mesh.operator_read()),
                })
                .await
                .map_err(|e| e.to_string())?
                .into_inner();
            match status.status() {
                DeliveryStatus::Rejected
                | DeliveryStatus::Processed
                | DeliveryStatus::DeadLettered => Ok(status),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
        if status.status() == DeliveryStatus::Rejected {
            Answer::Refused(status.code, None)
        } else {
            Answer::Taken(None)
        }
    }

    async fn attempt(&self, case: &Case) -> Answer {
        let value = case.value.as_str();
        match case.interface.as_str() {
            "gateway.send" => {
                let envelope = self.envelope(&case.input, value, self.submission());
                let answer = self.send(envelope).await;
                if case.input == "receipt_for_someone_elses_message" {
                    return self.receipt_ignored(answer).await;
                }
                answer
            }
            "gateway.call" => {
                let base = self.lookup(&self.citizen.person.iin);
                self.call(self.envelope(&case.input, value, base)).await
            }
            "handler" => self.handler(&case.input, value).await,
            "portal" => self.portal(&case.input, value).await,
            "intake" => self.intake(&case.input, value).await,
            "workstation" => self.workstation(&case.input, value).await,
            "registry-admin" => self.registry_admin(value).await,
            other => panic!("no interface {other:?}"),
        }
    }

    /// A receipt from a system that did not receive the message is taken
    /// and changes nothing: the message keeps the status its receiver gave.
    async fn receipt_ignored(&self, answer: Answer) -> Answer {
        assert!(matches!(answer, Answer::Taken(_)), "{answer:?}");
        let status = self
            .gateway()
            .get_status(gw::GetStatusRequest {
                message_id: self.accepted_message.clone(),
                credential: Some(self.mesh.operator_read()),
            })
            .await
            .expect("the status")
            .into_inner();
        if status.status() == DeliveryStatus::Processed {
            Answer::Refused("ignored".into(), None)
        } else {
            Answer::Taken(None)
        }
    }

    async fn handler(&self, input: &str, value: &str) -> Answer {
        match input {
            "lookup_iin" | "lookup_without_consent" | "lookup_payload_garbage" => {
                let (mut header, mut payload) = self.lookup(&self.citizen.person.iin);
                match input {
                    "lookup_iin" => {
                        payload = PersonByIinRequest {
                            iin: value.into(),
                            ..Default::default()
                        }
                        .encode_to_vec()
                    }
                    "lookup_without_consent" => header.consent_reference.clear(),
                    _ => payload = b"\x0a\xff\xff".to_vec(),
                }
                self.call(self.seal_with(
                    &self.portal.key,
                    &self.portal.certificate,
                    header,
                    payload,
                ))
                .await
            }
            "application_payload_garbage" | "application_truncated" => {
                let (header, payload) = self.submission();
                let payload = if input == "application_truncated" {
                    payload[..payload.len() / 2].to_vec()
                } else {
                    b"\xff\xfe garbage".to_vec()
                };
                self.handled(self.seal_with(
                    &self.portal.key,
                    &self.portal.certificate,
                    header,
                    payload,
                ))
                .await
            }
            "application" => {
                let mut app = self.application();
                if let Some(code) = value_of(value, "regulation") {
                    app.regulation = code.into();
                } else if value == "channel=state_corporation" {
                    app.channel = ws::Channel::StateCorporation as i32;
                } else if let Some(iin) = value_of(value, "applicant.iin") {
                    app.applicant.as_mut().expect("an applicant").iin = iin.into();
                } else if let Some(code) = value_of(value, "document") {
                    app.documents.push(scanned_document(code));
                } else if value == "sha256=wrong" {
                    app.documents[0].sha256 = vec![7; 32].into();
                } else if value == "sha256=short" {
                    app.documents[0].sha256 = vec![7; 5].into();
                } else if value == "on_paper" {
                    app.documents[0].on_paper = true;
                } else if let Some(name) = value_of(value, "form") {
                    app.form.push(ws::FormField {
                        name: name.into(),
                        value: "x".into(),
                    });
                } else {
                    panic!("no application recipe {value:?}");
                }
                let header = self.header("workstation", "submit-application", Kind::Request);
                let sealed = self.seal_with(
                    &self.portal.key,
                    &self.portal.certificate,
                    header,
                    app.encode_to_vec(),
                );
                self.handled(sealed).await
            }
            other => panic!("no handler recipe {other:?}"),
        }
    }

    async fn portal(&self, input: &str, value: &str) -> Answer {
        let mesh = self.mesh;
        let portal_code = |s: &tonic::Status| refusal_code(s, "portal.egov-mesh");
        let answer = |r: Result<(), tonic::Status>| match r {
            Ok(()) => Answer::Taken(None),
            Err(s) => Answer::Refused(portal_code(&s), None),
        };
        let token = &self.citizen.token;
        match input {
            "register" => {
                let unregistered = mesh.person().await;
                let mut request = pt::RegisterRequest {
                    iin: unregistered.iin.clone(),
                    password: PASSWORD.into(),
                    phone: unregistered.phone.clone(),
                    consent: true,
                };
                match value {
                    "iin=check_digit" => request.iin = bad_check_digit(&unregistered.iin),
                    "iin=letters" => request.iin = "90010130000A".into(),
                    "password=short" => request.password = "short".into(),
                    "phone=8701" => request.phone = "8701".into(),
                    "consent=no" => request.consent = false,
                    "iin=registered" => request.iin = self.citizen.person.iin.clone(),
                    "iin=unknown" => request.iin = unknown_iin(),
                    other => panic!("no register recipe {other:?}"),
                }
                answer(mesh.portal().register(request).await.map(|_| ()))
            }
            "login" => {
                let iin = match value {
                    "unknown_iin" => unknown_iin(),
                    _ => self.other.person.iin.clone(),
                };
                let request = pt::LoginRequest {
                    iin,
                    password: format!("{PASSWORD}!"),
                };
                answer(mesh.portal().login(request).await.map(|_| ()))
            }
            "session" => {
                let mut request = tonic::Request::new(pt::ListApplicationsRequest {});
                if value == "forged" {
                    request = authorized("forged-token", pt::ListApplicationsRequest {});
                }
                answer(mesh.portal().list_applications(request).await.map(|_| ()))
            }
            "someone_elses_application" => answer(
                mesh.portal()
                    .get_application(authorized(
                        token,
                        pt::GetApplicationRequest {
                            reference: self.other_reference.clone(),
                        },
                    ))
                    .await
                    .map(|_| ()),
            ),
            "someone_elses_result" => answer(
                mesh.portal()
                    .get_result(authorized(
                        token,
                        pt::GetResultRequest {
                            reference: self.other_reference.clone(),
                        },
                    ))
                    .await
                    .map(|_| ()),
            ),
            "prepare" => {
                let regulation = match value_of(value, "regulation") {
                    Some(code) => code,
                    None if value == "drop_document" => "002",
                    None => "003",
                };
                let known = if ["099", "004-11"].contains(&regulation) {
                    "003"
                } else {
                    regulation
                };
                let service = mesh.catalogue_service(known).await;
                let mut draft = complete_draft(&service, &self.citizen.person.iin);
                draft.regulation = regulation.into();
                match value {
                    "consent=no" => draft.consent = false,
                    "drop_document" => draft
                        .documents
                        .retain(|d| d.code != "bank_account_contract"),
                    "empty_document" => {
                        draft.documents[0].content = Default::default();
                        draft.documents[0].sha256 = Default::default();
                    }
                    "sha256=wrong" => draft.documents[0].sha256 = vec![7; 32].into(),
                    "oversize_document" => {
                        let content = vec![b'%'; 1536 * 1024];
                        draft.documents[0].sha256 = egov_trust::sha256(&content).to_vec().into();
                        draft.documents[0].content = content.into();
                    }
                    _ => {}
                }
                if let Some(code) = value_of(value, "document") {
                    draft.documents.push(scanned_document(code));
                }
                if let Some(media_type) = value_of(value, "media_type") {
                    draft.documents[0].media_type = media_type.into();
                }
                if let Some(name) = value_of(value, "form") {
                    draft.form.push(ws::FormField {
                        name: name.into(),
                        value: "x".into(),
                    });
                }
                answer(
                    mesh.portal()
                        .prepare_application(authorized(token, draft))
                        .await
                        .map(|_| ()),
                )
            }
            "submit" => {
                let document = mesh.prepare(&self.citizen, "003").await;
                let eds = &self.citizen.eds;
                let signed = match value {
                    "not_cms" => b"%PDF-1.4 not a signature".to_vec(),
                    "foreign_ca" => sign_with(&self.foreign_citizen_eds(), &document),
                    "authentication_key" => sign_with(&eds.authentication, &document),
                    "someone_elses_eds" => sign_with(&self.other.eds.signing, &document),
                    "expired_eds" => sign_with(&self.expired_citizen_eds(), &document),
                    "not_prepared" => sign_with(&eds.signing, b"an application nobody prepared"),
                    "content_changed" => {
                        let mut signed = sign_with(&eds.signing, &document);
                        // The content sits inside the CMS as an OCTET
                        // STRING; change one of its bytes.
                        let at = find(&signed, &document[..document.len().min(16)])
                            .expect("the content inside the CMS");
                        signed[at] ^= 0x01;
                        signed
                    }
                    other => panic!("no submit recipe {other:?}"),
                };
                answer(mesh.submit(&self.citizen, signed).await.map(|_| ()))
            }
            other => panic!("no portal recipe {other:?}"),
        }
    }

    /// A signing EDS for the citizen from a self-made CA.
    fn foreign_citizen_eds(&self) -> Issued {
        let now = Utc::now();
        let ca =
            CertificateAuthority::create("Self-made CA", now - days(1), days(365)).expect("a CA");
        let person = &self.citizen.person;
        ca.issue_citizen(
            Iin::parse(&person.iin).expect("an IIN"),
            &person.surname,
            &person.given_name,
            now - days(1),
            now + days(30),
        )
        .expect("an EDS")
        .signing
    }

    /// The citizen's signing EDS from the mesh CA, ended yesterday.
    fn expired_citizen_eds(&self) -> Issued {
        let now = Utc::now();
        let person = &self.citizen.person;
        self.mesh
            .ca
            .load()
            .expect("the mesh CA")
            .issue_citizen(
                Iin::parse(&person.iin).expect("an IIN"),
                &person.surname,
                &person.given_name,
                now - days(30),
                now - days(1),
            )
            .expect("an EDS")
            .signing
    }

    async fn intake(&self, input: &str, value: &str) -> Answer {
        let mesh = self.mesh;
        let answer = |r: Result<(), tonic::Status>| match r {
            Ok(()) => Answer::Taken(None),
            Err(s) => Answer::Refused(refusal_code(&s, "intake.egov-mesh"), None),
        };
        let operator = &self.operator;
        match input {
            "login" => answer(
                mesh.intake()
                    .login(ik::LoginRequest {
                        login: value.into(),
                        password: "whatever it was".into(),
                        ..Default::default()
                    })
                    .await
                    .map(|_| ()),
            ),
            "session" => {
                let request = if value == "forged" {
                    authorized("forged-token", ik::ListRequestsRequest::default())
                } else {
                    tonic::Request::new(ik::ListRequestsRequest::default())
                };
                answer(mesh.intake().list_requests(request).await.map(|_| ()))
            }
            "create" => {
                let recipient = &self.citizen.person;
                let mut request = ik::CreateRequestRequest {
                    regulation: "003".into(),
                    recipient: Some(ik::Recipient {
                        iin: recipient.iin.clone(),
                        phone: recipient.phone.clone(),
                        ..Default::default()
                    }),
                    documents_present: vec!["application".into()],
                    ..Default::default()
                };
                let mut token = operator;
                match value {
                    "as=courier" => token = &self.courier,
                    "iin=check_digit" => {
                        request.recipient.as_mut().expect("a recipient").iin =
                            bad_check_digit(&recipient.iin)
                    }
                    "phone=8701" => {
                        request.recipient.as_mut().expect("a recipient").phone = "8701".into()
                    }
                    "representative=no_number" | "representative=bad_date" => {
                        request.representative = Some(ik::RepresentativeEntry {
                            iin: self.other.person.iin.clone(),
                            power_of_attorney_number: if value.ends_with("no_number") {
                                String::new()
                            } else {
                                "2026-00000001".into()
                            },
                            power_of_attorney_date: "2026-02-31".into(),
                            surname: self.other.person.surname.clone(),
                            given_name: self.other.person.given_name.clone(),
                            ..Default::default()
                        })
                    }
                    _ => {}
                }
                if let Some(code) = value_of(value, "regulation") {
                    request.regulation = code.into();
                }
                if let Some(code) = value_of(value, "document") {
                    request.documents_present.push(code.into());
                }
                answer(
                    mesh.intake()
                        .create_request(authorized(token, request))
                        .await
                        .map(|_| ()),
                )
            }
            "accept_unchecked" => answer(mesh.accept(operator, &self.bare_draft).await.map(|_| ())),
            "check_without_consent" => {
                answer(mesh.check(operator, &self.bare_draft).await.map(|_| ()))
            }
            "wrong_consent_code" => {
                mesh.intake()
                    .send_consent_code(authorized(
                        operator,
                        ik::SendConsentCodeRequest {
                            reference: self.bare_draft.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .expect("a code sent");
                answer(
                    mesh.intake()
                        .confirm_consent(authorized(
                            operator,
                            ik::ConfirmConsentRequest {
                                reference: self.bare_draft.clone(),
                                code: "not the code".into(),
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ()),
                )
            }
            "unknown_request" => answer(
                mesh.intake()
                    .get_request(authorized(
                        operator,
                        ik::GetRequestRequest {
                            reference: new_message_id(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .map(|_| ()),
            ),
            "scan" => {
                let sector = mesh.operator("accumulation").await;
                answer(
                    mesh.intake()
                        .scan_package(authorized(
                            &sector,
                            ik::ScanPackageRequest {
                                barcode: value.into(),
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ()),
                )
            }
            other => panic!("no intake recipe {other:?}"),
        }
    }

    async fn workstation(&self, input: &str, value: &str) -> Answer {
        let mesh = self.mesh;
        let answer = |r: Result<(), tonic::Status>| match r {
            Ok(()) => Answer::Taken(None),
            Err(s) => Answer::Refused(refusal_code(&s, "workstation.egov-mesh"), None),
        };
        match input {
            "login" => answer(
                mesh.workstation()
                    .login(ws::LoginRequest {
                        login: "clerk".into(),
                        password: "not the clerk's password".into(),
                    })
                    .await
                    .map(|_| ()),
            ),
            "session" => {
                let request = if value == "forged" {
                    authorized("forged-token", ws::ListTasksRequest {})
                } else {
                    tonic::Request::new(ws::ListTasksRequest {})
                };
                answer(mesh.workstation().list_tasks(request).await.map(|_| ()))
            }
            "unknown_application" => answer(
                mesh.workstation()
                    .get_application(authorized(
                        &self.clerk,
                        ws::GetApplicationRequest {
                            journal_number: "ЖУРНАЛ-0000-404".into(),
                        },
                    ))
                    .await
                    .map(|_| ()),
            ),
            "office" => {
                let person = &self.citizen.person;
                let mut request = ws::OfficeApplicationRequest {
                    regulation: "003".into(),
                    applicant: Some(ws::Person {
                        iin: person.iin.clone(),
                        surname: person.surname.clone(),
                        given_name: person.given_name.clone(),
                        ..Default::default()
                    }),
                    documents: vec![scanned_document("application")],
                    consent_reference: "consent-corpus".into(),
                    ..Default::default()
                };
                if let Some(iin) = value_of(value, "applicant.iin") {
                    request.applicant.as_mut().expect("an applicant").iin = iin.into();
                }
                if let Some(code) = value_of(value, "regulation") {
                    request.regulation = code.into();
                }
                if value == "consent=none" {
                    request.consent_reference.clear();
                }
                answer(
                    mesh.workstation()
                        .submit_office_application(authorized(&self.clerk, request))
                        .await
                        .map(|_| ()),
                )
            }
            other => panic!("no workstation recipe {other:?}"),
        }
    }

    async fn registry_admin(&self, value: &str) -> Answer {
        let mode = match value {
            "none" => None,
            "unspecified" => Some(FaultMode::default()),
            _ => Some(FaultMode {
                kind: FaultKind::Error as i32,
                error_fraction: value
                    .strip_prefix("error ")
                    .and_then(|v| v.parse().ok())
                    .expect("error <share>"),
                ..Default::default()
            }),
        };
        match RegistryAdminClient::new(self.mesh.channel(SystemId::Individuals))
            .set_fault(SetFaultRequest {
                mode,
                credential: Some(self.mesh.registry_operator(SystemId::Individuals)),
            })
            .await
        {
            Ok(_) => Answer::Taken(None),
            Err(s) => Answer::Refused(refusal_code(&s, "individuals.egov-mesh"), None),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The business tables, and how many rows each has.
async fn written(mesh: &Mesh) -> BTreeMap<&'static str, i64> {
    let mut counts = BTreeMap::new();
    for table in [
        "portal.citizens",
        "portal.applications",
        "workstation.applications",
        "intake.requests",
        "intake.packages",
        "individuals.persons",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mesh.db)
                .await
                .expect("a count");
        counts.insert(table, n);
    }
    counts
}

/// A refused message: its refusal is in the log, and nothing under its id
/// was accepted or given a delivery status.
async fn not_delivered(mesh: &Mesh, id: &str, code: &str) -> Result<(), String> {
    let Ok(uuid) = id.parse::<uuid::Uuid>() else {
        return Ok(());
    };
    let (refused, accepted, statuses): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM gateway.message_log WHERE message_id = $1 AND verdict = $2),
                (SELECT count(*) FROM gateway.message_log WHERE message_id = $1 AND verdict = 'accepted'),
                (SELECT count(*) FROM gateway.message_status WHERE message_id = $1)",
    )
    .bind(uuid)
    .bind(code)
    .fetch_one(&mesh.db)
    .await
    .map_err(|e| e.to_string())?;
    // A replayed id was accepted once, before: that one stays the only one.
    let replay = code == "duplicate_message_id";
    match (refused, accepted, statuses) {
        (1.., 0, 0) => Ok(()),
        (1.., 1, 1) if replay => Ok(()),
        other => Err(format!("log refused/accepted, statuses: {other:?}")),
    }
}

async fn stage(mesh: &Mesh) -> Stage<'_> {
    let ca = mesh.ca.load().expect("the mesh CA");
    let now = Utc::now();
    let system = |id: SystemId| {
        let (certificate, key) = mesh.ca.paths_for(&SubjectSpec::System(id));
        let certificate = std::fs::read_to_string(certificate).expect("the certificate");
        let key = std::fs::read_to_string(key).expect("the key");
        let identity = egov_trust::Identity::from_pem(&certificate, &key).expect("an identity");
        Signer {
            key: identity.key,
            certificate: identity.certificate_der,
        }
    };
    let portal_spec = SubjectSpec::System(SystemId::Portal);
    let foreign =
        CertificateAuthority::create("Self-made CA", now - days(1), days(365)).expect("a CA");
    let revoked = ca
        .issue(&portal_spec, now - days(1), now + days(30))
        .expect("a certificate");
    mesh.egovctl(&[
        "pki",
        "--dir",
        &mesh.ca.root().display().to_string(),
        "revoke",
        &revoked.info.serial_hex(),
        "--reason",
        "key_compromise",
    ])
    .await;

    let citizen = mesh.citizen().await;
    let other = mesh.citizen().await;
    let application = mesh.apply(&other, "003").await;
    mesh.wait_cabinet(&other, &application.reference, &[pt::Stage::Issued])
        .await;
    // The application's submission: a message the gateway accepted and its
    // receiver processed.
    let trace = mesh.settled_trace(&application.reference).await;
    let accepted_message = trace
        .iter()
        .find(|e| e.service == "submit-application" && e.verdict == "accepted")
        .expect("the submission in the log")
        .message_id
        .clone();

    let operator = mesh.operator("operator").await;
    let bare_draft = mesh
        .draft(&operator, "003", &citizen.person, None, &[])
        .await
        .expect("a draft")
        .reference;
    let citizen_eds = ca
        .issue_citizen(
            Iin::parse(&citizen.person.iin).expect("an IIN"),
            &citizen.person.surname,
            &citizen.person.given_name,
            now - days(1),
            now + days(30),
        )
        .expect("an EDS");
    Stage {
        mesh,
        portal: system(SystemId::Portal),
        intake: system(SystemId::Intake),
        foreign_ca: Signer::of(
            &foreign
                .issue(&portal_spec, now - days(1), now + days(30))
                .expect("a certificate"),
        ),
        expired: Signer::of(
            &ca.issue(&portal_spec, now - days(30), now - days(1))
                .expect("a certificate"),
        ),
        future: Signer::of(
            &ca.issue(&portal_spec, now + days(1), now + days(30))
                .expect("a certificate"),
        ),
        revoked: Signer::of(&revoked),
        citizen_as_system: Signer::of(&citizen_eds.signing),
        citizen,
        other,
        other_reference: application.reference,
        accepted_message,
        courier: mesh.operator("courier").await,
        operator,
        bare_draft,
        clerk: mesh.employee("clerk").await,
    }
}

/// Every case of the corpus, refused with its code, nothing written or
/// delivered.
#[tokio::test]
async fn every_bad_input_of_the_corpus_is_refused_with_its_code_and_leaves_nothing() {
    let corpus: Corpus = toml::from_str(include_str!("../../corpus/bad-inputs.toml"))
        .expect("tests/corpus/bad-inputs.toml");
    assert!(corpus.case.len() >= 80, "{} cases", corpus.case.len());
    let mesh = Mesh::start(Options::default()).await;
    let stage = stage(&mesh).await;
    let before = written(&mesh).await;

    let mut failures = Vec::new();
    let mut by_interface: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in &corpus.case {
        let answer = stage.attempt(case).await;
        let tally = by_interface.entry(case.interface.as_str()).or_default();
        tally.0 += 1;
        match &answer {
            Answer::Refused(code, id) if *code == case.expect => {
                if let Some(id) = id
                    && case.interface.starts_with("gateway")
                    && let Err(problem) = not_delivered(&mesh, id, code).await
                {
                    failures.push(format!("{case:?}: refused but {problem}"));
                    continue;
                }
                tally.1 += 1;
            }
            other => failures.push(format!(
                "{} {} {:?} ({}): expected {}, got {other:?}",
                case.interface, case.input, case.value, case.why, case.expect
            )),
        }
    }
    let after = written(&mesh).await;
    let tried = corpus.case.len();
    let refused: usize = by_interface.values().map(|t| t.1).sum();
    for (interface, (tried, refused)) in &by_interface {
        println!("corpus {interface}: {refused}/{tried} refused with their code");
    }
    println!("corpus: {tried} tried, {refused} refused with their code, nothing written");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(before, after, "something was written");
    let log = mesh.verify_log().await;
    assert!(log.intact, "{}", log.problem);
}
