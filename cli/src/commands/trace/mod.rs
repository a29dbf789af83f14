//! `egovctl trace <conversation>`: one application's path through its
//! diagram, drawn as a page a person opens in a browser — one self-contained
//! HTML file with an SVG of the diagram's lanes (one per system, as the
//! seeds draw them), the elements the application passed with the times the
//! gateway saw, and each staff step's time against the regulation's budget.
//!
//! Everything comes from the gateway's log (`Trace` with the envelopes: the
//! application, each status, the result) and the regulation data; the page
//! is built by [`path`] (what happened) and [`page`] (how it looks).

mod page;
pub mod path;

use crate::output;
use anyhow::Context as _;
use egov_proto::gateway::TraceRequest;
use egov_proto::gateway::gateway_client::GatewayClient;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The conversation: a portal application's reference, a counter
    /// request's number (as `egovctl gateway trace` takes it).
    conversation: String,
    /// Where to write the page (default trace-<conversation>.html).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The gateway's gRPC address.
    #[arg(
        long,
        env = "EGOV_GATEWAY_ADDR",
        default_value = "http://127.0.0.1:7100"
    )]
    addr: String,
    /// The CA directory with the gateway's key: the page is read as the
    /// gateway's operator.
    #[arg(long, env = "EGOV_PKI", default_value = crate::commands::pki::DEFAULT_DIR)]
    pki: PathBuf,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut client = GatewayClient::new(
        crate::grpc::connect(&args.addr, egov_trust::SystemId::Gateway)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "unreachable: cannot reach the gateway at {}: {e:#}",
                    args.addr
                )
            })?,
    );
    let trace = client
        .trace(TraceRequest {
            conversation_id: args.conversation.clone(),
            include_envelopes: true,
            credential: Some(crate::commands::gateway::read_credential(&args.pki)?),
        })
        .await
        .map_err(anyhow::Error::from)?
        .into_inner();
    let regulations =
        egov_regulations::Registry::embedded().context("reading the regulation data")?;
    let calendar = egov_calendar::Calendar::try_embedded()
        .map_err(|e| anyhow::anyhow!("reading the working calendar: {e}"))?;
    let path = path::read(&args.conversation, &trace.entries, &regulations, &calendar)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let out = args.out.unwrap_or_else(|| {
        let safe: String = args
            .conversation
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        PathBuf::from(format!("trace-{safe}.html"))
    });
    std::fs::write(&out, page::render(&path))
        .with_context(|| format!("writing {}", out.display()))?;
    if output::json() {
        let mut value = path.to_json();
        value["page"] = serde_json::Value::String(out.display().to_string());
        output::print_json(&value);
    } else {
        println!("{}", path.summary());
        println!("page: {}", out.display());
    }
    Ok(())
}
