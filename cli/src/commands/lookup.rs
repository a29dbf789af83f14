//! `egovctl lookup`: ask the registries through the gateway, as the State
//! Corporation does in diagram 1, process 3 (ЖТ МДБ for the recipient, БНАЖ
//! for the representative's power of attorney) — signed as a system of the
//! mesh with its key from the CA directory, sent with the gateway's gRPC Call.

use crate::commands::gateway::sign_as;
use crate::output;
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
    let answer = client
        .call(CallRequest {
            envelope: Some(envelope),
        })
        .await
        .map_err(crate::commands::gateway::refusal)?
        .into_inner()
        .response
        .ok_or_else(|| anyhow::anyhow!("no answer envelope"))?;
    let opened = egov_bus::envelope::open_envelope(answer)?;
    if opened.kind() == Kind::Reject {
        let rejection = Rejection::decode(opened.payload.clone())?;
        let field = if rejection.field.is_empty() {
            String::new()
        } else {
            format!(" (field {})", rejection.field)
        };
        anyhow::bail!(
            "{}: refused by {}{field}: {}",
            rejection.code,
            opened.header.sender,
            rejection.message
        );
    }
    match args.command {
        Command::Person { .. } => {
            let person = egov_proto::individuals::PersonRecord::decode(opened.payload.clone())?;
            output::emit(&person, "egov.individuals.v1.PersonRecord", || {
                print_person(&person)
            });
        }
        Command::Poa { .. } => {
            let answer = egov_proto::notary::PowerOfAttorneyAnswer::decode(opened.payload.clone())?;
            output::emit(&answer, "egov.notary.v1.PowerOfAttorneyAnswer", || {
                print_power_of_attorney(&answer)
            });
        }
    }
    Ok(())
}

/// An enum value as a person reads it: "DOCUMENT_KIND_ID_CARD" → "id card".
fn words(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix)
        .replace('_', " ")
        .to_lowercase()
}

fn print_person(p: &egov_proto::individuals::PersonRecord) {
    let patronymic = p.patronymic.clone().unwrap_or_default();
    println!("{:<14} {}", "IIN", p.iin);
    println!("{:<14} {} {} {patronymic}", "name", p.surname, p.given_name);
    println!(
        "{:<14} {} ({})",
        "born",
        p.birth_date,
        words(p.sex().as_str_name(), "SEX_")
    );
    println!("{:<14} {}", "citizenship", p.citizenship);
    if let Some(a) = &p.address {
        println!(
            "{:<14} {}, {}, {}",
            "address", a.region, a.district_or_city, a.street
        );
    }
    if let Some(d) = &p.identity_document {
        println!(
            "{:<14} {} {}, issued {} by {}{}",
            "document",
            words(d.kind().as_str_name(), "DOCUMENT_KIND_"),
            d.number,
            d.issued_on,
            d.issuer,
            d.expires_on
                .as_ref()
                .map(|e| format!(", valid until {e}"))
                .unwrap_or_default()
        );
    }
    if let Some(on) = &p.deceased_on {
        println!("{:<14} {on}", "deceased");
    }
    if let Some(on) = &p.declared_missing_on {
        println!("{:<14} {on}", "missing since");
    }
    for (what, links) in [("parent", &p.parents), ("child", &p.children)] {
        for l in links {
            println!(
                "{:<14} {} ({}, {})",
                what,
                l.iin,
                words(l.parent_role().as_str_name(), "PARENT_ROLE_"),
                words(l.status().as_str_name(), "LINK_STATUS_")
            );
        }
    }
    for (what, links) in [("carer", &p.carers), ("ward", &p.wards)] {
        for l in links {
            println!(
                "{:<14} {} ({} since {})",
                what,
                l.iin,
                words(l.kind().as_str_name(), "CARE_KIND_"),
                l.established_on
            );
        }
    }
}

fn print_power_of_attorney(answer: &egov_proto::notary::PowerOfAttorneyAnswer) {
    println!(
        "{:<16} {}",
        "status",
        words(answer.status().as_str_name(), "STATUS_")
    );
    if let Some(p) = &answer.power_of_attorney {
        println!("{:<16} {}", "number", p.number);
        println!("{:<16} {}", "principal", p.principal_iin);
        println!("{:<16} {}", "representative", p.representative_iin);
        println!(
            "{:<16} {} (licence {})",
            "notary", p.notary_name, p.notary_licence
        );
        println!("{:<16} {} to {}", "valid", p.issued_on, p.valid_until);
        println!("{:<16} {}", "scope", p.scope.join(", "));
        if let Some(on) = &p.revoked_on {
            println!("{:<16} {on}", "revoked");
        }
    }
}
