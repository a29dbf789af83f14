//! Receive and Ack: the inbox of a partner without AMQP, over gRPC (SMEV
//! 3's GetRequest/Ack). A partner proves who it is with a credential — a
//! fresh envelope to the gateway, service "receive", signed with its system
//! certificate — and takes the next message of its inbox, exactly as the
//! gateway countersigned it: requests, answers, refusals, status reports.
//! The message stays the partner's, unacknowledged on the broker, until it
//! acks; not acked within `receive_ack_timeout` it goes back to the inbox
//! and is given out again, so nothing is lost if the partner dies holding
//! it (at least once, as over AMQP). The ack of a request, answer or
//! notification is its receipt: the sender sees PROCESSED.

use crate::api::ApiCode;
use crate::gateway::Gateway;
use crate::store::Change;
use chrono::Utc;
use egov_bus::envelope;
use egov_bus::names::Address;
use egov_proto::envelope::{DeliveryStatus, Envelope, Kind};
use egov_proto::prost::Message;
use egov_runtime::refusal::Refusal;
use egov_trust::SystemId;
use lapin::Acker;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicNackOptions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};
use tonic::Status;

/// The service name a credential carries.
pub const RECEIVE_SERVICE: &str = "receive";
/// Longest a Receive waits for a message.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// How often an empty inbox is looked at again while a Receive waits.
const POLL: Duration = Duration::from_millis(100);

/// A message given out and not acked yet.
struct Given {
    system: SystemId,
    acker: Acker,
    message_id: Option<uuid::Uuid>,
    kind: Kind,
    until: Instant,
}

pub struct Mailboxes {
    gateway: Arc<Gateway>,
    given: Mutex<HashMap<String, Given>>,
    /// One channel per partner system, with the broker session it is on.
    channels: tokio::sync::Mutex<HashMap<SystemId, (u64, lapin::Channel)>>,
}

fn refusal(code: ApiCode, message: impl Into<String>) -> Status {
    Refusal::new(code, message).to_status(crate::api::DOMAIN)
}

impl Mailboxes {
    /// The mailboxes, and their sweeper, which puts back what was given
    /// out and not acked in time (it stops when the mailboxes go).
    pub fn start(gateway: Arc<Gateway>) -> Arc<Mailboxes> {
        let mailboxes = Arc::new(Mailboxes {
            gateway,
            given: Mutex::new(HashMap::new()),
            channels: tokio::sync::Mutex::new(HashMap::new()),
        });
        let weak: Weak<Mailboxes> = Arc::downgrade(&mailboxes);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            loop {
                ticks.tick().await;
                let Some(mailboxes) = weak.upgrade() else {
                    return;
                };
                mailboxes.put_back_overdue().await;
            }
        });
        mailboxes
    }

    /// The partner the credential proves, or why not.
    pub async fn authenticate(&self, credential: Option<Envelope>) -> Result<SystemId, Status> {
        authenticate(&self.gateway, credential, RECEIVE_SERVICE, Who::Partner).await
    }

    /// The next message of `system`'s inbox and its ack token; none when
    /// nothing came within `wait`.
    pub async fn receive(
        &self,
        system: SystemId,
        wait: Duration,
    ) -> Result<Option<(Envelope, String)>, Status> {
        let until = Instant::now() + wait.min(MAX_WAIT);
        let inbox = self.gateway.names.inbox(system);
        loop {
            let channel = self.channel(system).await?;
            let got = channel
                .basic_get(inbox.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(|e| refusal(ApiCode::GatewayUnavailable, format!("the broker: {e}")))?;
            if let Some(message) = got {
                let delivery = message.delivery;
                let Ok(envelope) = Envelope::decode(delivery.data.as_slice()) else {
                    // Nothing a partner could verify: to its dead letters.
                    tracing::error!(%system, "An undecodable message in a partner's inbox; dead-lettering it.");
                    let dead = self.gateway.names.dead(system);
                    if let Ok(session) = self.gateway.connector.session(POLL).await {
                        let _ = session
                            .publisher
                            .publish(
                                &Address::queue(dead),
                                &delivery.data,
                                delivery.properties.clone(),
                            )
                            .await;
                    }
                    let _ = delivery.acker.ack(BasicAckOptions::default()).await;
                    continue;
                };
                let header = envelope::open_envelope(envelope.clone())
                    .ok()
                    .map(|o| (o.kind(), o.header.message_id.parse().ok()));
                let (kind, message_id) = header.unwrap_or((Kind::Unspecified, None));
                let token = uuid::Uuid::new_v4().to_string();
                self.given
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(
                        token.clone(),
                        Given {
                            system,
                            acker: delivery.acker,
                            message_id,
                            kind,
                            until: Instant::now() + self.gateway.tuning.receive_ack_timeout,
                        },
                    );
                return Ok(Some((envelope, token)));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// `system` has processed what `token` named.
    pub async fn ack(&self, system: SystemId, token: &str) -> Result<(), Status> {
        let given = {
            let mut given = self.given.lock().unwrap_or_else(PoisonError::into_inner);
            match given.get(token) {
                Some(g) if g.system == system => given.remove(token),
                _ => None,
            }
        };
        let given = given.ok_or_else(|| {
            refusal(
                ApiCode::UnknownAckToken,
                "ack_token: not one Receive gave this partner, or given out again after the ack timeout",
            )
        })?;
        given
            .acker
            .ack(BasicAckOptions::default())
            .await
            .map_err(|e| {
                refusal(
                    ApiCode::GatewayUnavailable,
                    format!(
                        "the broker dropped the channel ({e}); the message will be given out again"
                    ),
                )
            })?;
        let receipt = matches!(
            given.kind,
            Kind::Request | Kind::Response | Kind::Reject | Kind::Notification
        );
        if let (true, Some(message_id)) = (receipt, given.message_id) {
            self.gateway
                .record_change(Change {
                    message_id,
                    status: DeliveryStatus::Processed,
                    at: Utc::now(),
                    code: String::new(),
                    detail: "acknowledged through Receive".into(),
                    attempt: 1,
                    reported_by: Some(system.to_string()),
                })
                .await;
        }
        Ok(())
    }

    /// Puts back in their inboxes the messages not acked in time.
    async fn put_back_overdue(&self) {
        let now = Instant::now();
        let overdue: Vec<Given> = {
            let mut given = self.given.lock().unwrap_or_else(PoisonError::into_inner);
            let tokens: Vec<String> = given
                .iter()
                .filter(|(_, g)| g.until <= now)
                .map(|(t, _)| t.clone())
                .collect();
            tokens.iter().filter_map(|t| given.remove(t)).collect()
        };
        for g in overdue {
            tracing::warn!(system = %g.system, "A message given out by Receive was not acked in time; it goes back to the inbox.");
            let _ = g
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await;
        }
    }

    /// The channel Receive reads `system`'s inbox on, on the current
    /// broker session.
    async fn channel(&self, system: SystemId) -> Result<lapin::Channel, Status> {
        let session = self
            .gateway
            .connector
            .session(self.gateway.publish_timeout)
            .await
            .map_err(|_| refusal(ApiCode::GatewayUnavailable, "the broker is away: try again"))?;
        let mut channels = self.channels.lock().await;
        if let Some((generation, channel)) = channels.get(&system)
            && *generation == session.generation
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let channel = session
            .connection
            .create_channel()
            .await
            .map_err(|e| refusal(ApiCode::GatewayUnavailable, format!("the broker: {e}")))?;
        channels.insert(system, (session.generation, channel.clone()));
        Ok(channel)
    }
}

/// Whom a credential must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// A partner system (Receive, Ack): any system of the mesh but the
    /// gateway.
    Partner,
    /// The gateway's operator (ArchiveLog, ExportEvidence, VerifyLog), who
    /// holds the gateway's own key.
    Operator,
    /// Any system of the mesh, or the operator as the gateway (GetStatus,
    /// Trace: each system reads what it is a party to).
    Reader,
}

/// The service name a reader's credential carries.
pub const READ_SERVICE: &str = "read";

/// The service name an operator's credential carries.
pub const OPERATE_SERVICE: &str = "operate";

/// The system a credential proves, or why not
/// ([`envelope::verify_credential`]: a fresh KIND_REQUEST to the gateway
/// for `service`, signed with a system certificate of the mesh CA that
/// names its sender), the sender being whom `who` allows. The gateway's own
/// certificate (its operator's) needs no revocation list, so an operator
/// can act while the list is away.
pub async fn authenticate(
    gateway: &Gateway,
    credential: Option<Envelope>,
    service: &str,
    who: Who,
) -> Result<SystemId, Status> {
    let system = envelope::verify_credential(
        &gateway.trust,
        credential,
        SystemId::Gateway,
        service,
        gateway.tuning.max_clock_skew,
        Some(&gateway.identity.certificate_der),
    )
    .await
    .map_err(|e| match e {
        envelope::CredentialError::Refused(_) => refusal(ApiCode::CredentialRefused, e.to_string()),
        envelope::CredentialError::RevocationUnknown(detail) => {
            refusal(ApiCode::GatewayUnavailable, detail)
        }
    })?;
    let allowed = match who {
        Who::Partner => system != SystemId::Gateway,
        Who::Operator => system == SystemId::Gateway,
        Who::Reader => true,
    };
    if !allowed {
        return Err(refusal(
            ApiCode::CredentialRefused,
            match who {
                Who::Operator => format!(
                    "credential: an operator signs as \"gateway\", with the gateway's own certificate, not as {system:?}"
                ),
                _ => format!("credential: {system} is no partner system"),
            },
        ));
    }
    Ok(system)
}
