//! `egovctl gateway`: ask the running gateway about messages, conversations,
//! routes and its log (the same gRPC API a partner or grpcurl uses).

use crate::output;
use chrono::{DateTime, Utc};
use egov_proto::envelope::{DeliveryStatus, Kind};
use egov_proto::gateway::gateway_client::GatewayClient;
use egov_proto::gateway::{GetStatusRequest, ListRoutesRequest, TraceRequest, VerifyLogRequest};

#[derive(clap::Args)]
pub struct Args {
    /// The gateway's gRPC address.
    #[arg(
        long,
        global = true,
        env = "EGOV_GATEWAY_ADDR",
        default_value = "http://127.0.0.1:7100"
    )]
    addr: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// The delivery status of one message.
    Status { message_id: String },
    /// The messages of one conversation (application, case), in log order.
    Trace { conversation_id: String },
    /// The routing table with each row's source in the regulations.
    Routes,
    /// Sign a message as a system (with its key from the CA directory) and
    /// send it through the gateway's gRPC Send.
    Send(SendArgs),
    /// The same, as a synchronous request: wait for the receiver's answer.
    Call(SendArgs),
    /// Recompute the message log's hash chain (whole log by default).
    VerifyLog {
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 0)]
        to: u64,
    },
}

#[derive(clap::Args)]
struct SendArgs {
    /// The sending system (its certificate and key are read from --pki).
    #[arg(long = "as")]
    sender: egov_trust::SystemId,
    /// The receiving system.
    #[arg(long)]
    to: egov_trust::SystemId,
    /// The service, as in the routing table (`egovctl gateway routes`).
    #[arg(long)]
    service: String,
    /// The payload, as text.
    #[arg(long, default_value = "")]
    payload: String,
    /// The application or case this message belongs to.
    #[arg(long, default_value = "")]
    conversation: String,
    /// How long the message may wait (a call waits this long for its answer).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    ttl: std::time::Duration,
    /// The CA directory holding the systems' keys.
    #[arg(long, default_value = crate::commands::pki::DEFAULT_DIR)]
    pki: std::path::PathBuf,
}

impl SendArgs {
    fn envelope(&self) -> anyhow::Result<egov_proto::envelope::Envelope> {
        let message = egov_bus::Outgoing::raw(
            self.to,
            &self.service,
            Kind::Request,
            self.payload.as_bytes().to_vec(),
        )
        .conversation(self.conversation.clone())
        .ttl(self.ttl);
        sign_as(&self.pki, self.sender, &message)
    }
}

/// Signs `message` as `sender`, with its key from the CA directory `pki`.
pub fn sign_as(
    pki: &std::path::Path,
    sender: egov_trust::SystemId,
    message: &egov_bus::Outgoing,
) -> anyhow::Result<egov_proto::envelope::Envelope> {
    let dir = egov_trust::ca_dir::CaDirectory::open(pki)?;
    let (cert, key) = dir.paths_for(&egov_trust::ca::SubjectSpec::System(sender));
    let identity = egov_trust::Identity::load(&cert, &key)?;
    let header = message.header(sender, Utc::now(), "");
    Ok(egov_bus::envelope::seal(
        &identity,
        header,
        message.payload.clone(),
    ))
}

fn time(t: &Option<egov_proto::prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos as u32))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

fn status_name(value: i32) -> &'static str {
    DeliveryStatus::try_from(value)
        .map(|s| s.as_str_name().trim_start_matches("DELIVERY_STATUS_"))
        .unwrap_or("?")
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut client = GatewayClient::connect(args.addr.clone())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "unreachable: cannot reach the gateway at {}: {e}",
                args.addr
            )
        })?;
    match args.command {
        Command::Status { message_id } => {
            let s = client
                .get_status(GetStatusRequest { message_id })
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&s, "egov.gateway.v1.MessageStatus", || {
                println!("message    {}", s.message_id);
                println!(
                    "status     {}{}",
                    status_name(s.status),
                    if s.code.is_empty() {
                        String::new()
                    } else {
                        format!(" ({}: {})", s.code, s.detail)
                    }
                );
                println!("route      {} → {} \"{}\"", s.sender, s.receiver, s.service);
                println!(
                    "case       {}",
                    if s.conversation_id.is_empty() {
                        "-"
                    } else {
                        &s.conversation_id
                    }
                );
                println!("attempts   {}", s.attempts);
                println!(
                    "queued     {}\ndelivered  {}\nprocessed  {}",
                    time(&s.queued_at),
                    time(&s.delivered_at),
                    time(&s.processed_at)
                );
            });
        }
        Command::Trace { conversation_id } => {
            let trace = client
                .trace(TraceRequest {
                    conversation_id,
                    ..Default::default()
                })
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&trace, "egov.gateway.v1.TraceResponse", || {
                println!(
                    "{:>6}  {:<23}  {:<36}  {:<12}  {:<30}  {:<10}  VERDICT",
                    "SEQ", "LOGGED", "MESSAGE", "KIND", "ROUTE", "STATUS"
                );
                for e in &trace.entries {
                    let kind = Kind::try_from(e.kind)
                        .map(|k| k.as_str_name().trim_start_matches("KIND_"))
                        .unwrap_or("?");
                    println!(
                        "{:>6}  {:<23}  {:<36}  {:<12}  {:<30}  {:<10}  {}",
                        e.log_sequence,
                        time(&e.logged_at),
                        e.message_id,
                        kind,
                        format!("{}→{} {}", e.sender, e.receiver, e.service),
                        status_name(e.status),
                        e.verdict
                    );
                }
            });
        }
        Command::Routes => {
            let routes = client
                .list_routes(ListRoutesRequest {})
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&routes, "egov.gateway.v1.ListRoutesResponse", || {
                for r in &routes.routes {
                    println!(
                        "{:<12} → {:<12} {:<26} diagram {:<2} {:<34} seed {}",
                        r.sender, r.receiver, r.service, r.diagram, r.process, r.seed
                    );
                }
            });
        }
        Command::Send(send) => {
            let envelope = send.envelope()?;
            let r = client
                .send(egov_proto::gateway::SendRequest {
                    envelope: Some(envelope),
                })
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&r, "egov.gateway.v1.SendResponse", || {
                println!(
                    "accepted: message {} (log row {}), {}",
                    r.message_id,
                    r.log_sequence,
                    status_name(r.status)
                );
            });
        }
        Command::Call(send) => {
            let envelope = send.envelope()?;
            let answer = client
                .call(egov_proto::gateway::CallRequest {
                    envelope: Some(envelope),
                })
                .await
                .map_err(refusal)?
                .into_inner()
                .response
                .ok_or_else(|| anyhow::anyhow!("no answer envelope"))?;
            let opened = egov_bus::envelope::open_envelope(answer)?;
            let kind = opened.kind().as_str_name().trim_start_matches("KIND_");
            let rejection = opened
                .decode::<egov_proto::envelope::Rejection>()
                .ok()
                .filter(|_| opened.kind() == Kind::Reject);
            let payload = String::from_utf8_lossy(&opened.payload).into_owned();
            output::say(
                serde_json::json!({
                    "kind": kind,
                    "sender": opened.header.sender,
                    "correlation_id": opened.header.correlation_id,
                    "rejection": rejection.as_ref().map(|r| output::proto_json(r, "egov.envelope.v1.Rejection")),
                    "payload": if rejection.is_some() { None } else { Some(&payload) },
                }),
                || {
                    println!(
                        "{kind} from {} to request {}",
                        opened.header.sender, opened.header.correlation_id
                    );
                    match &rejection {
                        Some(r) => println!("refused: {}: {}", r.code, r.message),
                        None => println!("{payload}"),
                    }
                },
            );
        }
        Command::VerifyLog { from, to } => {
            let r = client
                .verify_log(VerifyLogRequest {
                    from_sequence: from,
                    to_sequence: to,
                })
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&r, "egov.gateway.v1.VerifyLogResponse", || {
                if r.intact {
                    println!(
                        "intact: {} rows checked; head is row {} ({})",
                        r.rows_checked,
                        r.head_sequence,
                        hex(&r.head_hash)
                    );
                } else {
                    println!("BROKEN at row {}: {}", r.first_bad_sequence, r.problem);
                }
            });
            if !r.intact {
                anyhow::bail!("log_broken: at row {}: {}", r.first_bad_sequence, r.problem);
            }
        }
    }
    Ok(())
}

/// A refusal as the services word it: their message starts with the code.
pub fn refusal(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}", status.message())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
