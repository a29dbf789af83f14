//! `egovctl lookup`: ask the registries through the gateway, as the State
//! Corporation does in diagram 1, process 3 (ЖТ МДБ for the recipient, БНАЖ
//! for the representative's power of attorney) — signed as a system of the
//! mesh with its key from the CA directory, sent with the gateway's gRPC Call.

use crate::commands::gateway::sign_as;
use egov_bus::Outgoing;
use egov_proto::envelope::{Kind, Rejection};
use egov_proto::gateway::CallRequest;
use egov_proto::gateway::gateway_client::GatewayClient;
use egov_proto::prost::Message;
use egov_trust::SystemId;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Who asks (the routing table decides whether it may).
    #[arg(long = "as", global = true, default_value = "intake")]
    sender: SystemId,
    /// How long to wait for the answer.
    #[arg(long, global = true, default_value = "5s", value_parser = humantime::parse_duration)]
    deadline: Duration,
    /// The CA directory holding the systems' keys.
    #[arg(long, global = true, default_value = crate::commands::pki::DEFAULT_DIR)]
    pki: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// A person by IIN, from the individuals registry (ЖТ МДБ).
    Person {
        iin: String,
        /// The subject's consent reference (ГБД ФЛ queries carry one).
        #[arg(long, default_value = "")]
        consent: String,
        /// Or a legal-basis code from the registry's configured list.
        #[arg(long, default_value = "")]
        legal_basis: String,
    },
    /// A power of attorney by number and representative, from the notary
    /// system (БНАЖ), for a service (a regulation code such as 003).
    Poa {
        number: String,
        #[arg(long)]
        representative: String,
        #[arg(long)]
        service: String,
    },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let message = match &args.command {
        Command::Person {
            iin,
            consent,
            legal_basis,
        } => Outgoing::request(
            SystemId::Individuals,
            egov_proto::services::PERSON_BY_IIN,
            egov_proto::individuals::PersonByIinRequest {
                iin: iin.clone(),
                legal_basis: legal_basis.clone(),
            },
        )
        .consent(consent.clone()),
        Command::Poa {
            number,
            representative,
            service,
        } => Outgoing::request(
            SystemId::Notary,
            egov_proto::services::POWER_OF_ATTORNEY,
            egov_proto::notary::PowerOfAttorneyRequest {
                number: number.clone(),
                representative_iin: representative.clone(),
                service_code: service.clone(),
            },
        ),
    }
    .ttl(args.deadline);
    let envelope = sign_as(&args.pki, args.sender, &message)?;
    let mut client = GatewayClient::connect(args.addr.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the gateway at {}: {e}", args.addr))?;
    let answer = match client
        .call(CallRequest {
            envelope: Some(envelope),
        })
        .await
    {
        Ok(answer) => answer
            .into_inner()
            .response
            .ok_or_else(|| anyhow::anyhow!("no answer envelope"))?,
        Err(status) => {
            eprintln!("refused ({:?}): {}", status.code(), status.message());
            std::process::exit(1);
        }
    };
    let opened = egov_bus::envelope::open_envelope(answer)?;
    if opened.kind() == Kind::Reject {
        let rejection = Rejection::decode(opened.payload.clone())?;
        let field = if rejection.field.is_empty() {
            String::new()
        } else {
            format!(" (field {})", rejection.field)
        };
        println!(
            "refused by {}: {}{field}: {}",
            opened.header.sender, rejection.code, rejection.message
        );
        std::process::exit(1);
    }
    match args.command {
        Command::Person { .. } => {
            println!(
                "{:#?}",
                egov_proto::individuals::PersonRecord::decode(opened.payload.clone())?
            )
        }
        Command::Poa { .. } => {
            println!(
                "{:#?}",
                egov_proto::notary::PowerOfAttorneyAnswer::decode(opened.payload.clone())?
            )
        }
    }
    Ok(())
}
