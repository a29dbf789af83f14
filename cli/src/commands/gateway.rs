//! `egovctl gateway`: ask the running gateway about messages, conversations,
//! routes and its log (the same gRPC API a partner or grpcurl uses).

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
    /// Recompute the message log's hash chain (whole log by default).
    VerifyLog {
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 0)]
        to: u64,
    },
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
        .map_err(|e| anyhow::anyhow!("cannot reach the gateway at {}: {e}", args.addr))?;
    match args.command {
        Command::Status { message_id } => {
            let s = client
                .get_status(GetStatusRequest { message_id })
                .await?
                .into_inner();
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
        }
        Command::Trace { conversation_id } => {
            let trace = client
                .trace(TraceRequest { conversation_id })
                .await?
                .into_inner();
            println!(
                "{:>6}  {:<23}  {:<36}  {:<12}  {:<30}  {:<10}  VERDICT",
                "SEQ", "LOGGED", "MESSAGE", "KIND", "ROUTE", "STATUS"
            );
            for e in trace.entries {
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
        }
        Command::Routes => {
            let routes = client
                .list_routes(ListRoutesRequest {})
                .await?
                .into_inner()
                .routes;
            for r in routes {
                println!(
                    "{:<12} → {:<12} {:<26} diagram {:<2} {:<34} seed {}",
                    r.sender, r.receiver, r.service, r.diagram, r.process, r.seed
                );
            }
        }
        Command::VerifyLog { from, to } => {
            let r = client
                .verify_log(VerifyLogRequest {
                    from_sequence: from,
                    to_sequence: to,
                })
                .await?
                .into_inner();
            if r.intact {
                println!(
                    "intact: {} rows checked; head is row {} ({})",
                    r.rows_checked,
                    r.head_sequence,
                    hex(&r.head_hash)
                );
            } else {
                println!("BROKEN at row {}: {}", r.first_bad_sequence, r.problem);
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
