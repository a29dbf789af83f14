//! `egovctl intake`: walk diagram 1 from the terminal as a State Corporation
//! operator — log in, fill the request form, take the recipient's consent by
//! a code sent to their phone, ask ЖТ МДБ (and БНАЖ for a representative),
//! accept the package (the signed receipt) and send it, watch it, hand the
//! result over.
//!
//! The session token of the last login is kept in `.run/intake-session`.

use crate::output;
use anyhow::Context as _;
use egov_proto::intake::intake_client::IntakeClient;
use egov_proto::intake::{self as pb};
use egov_proto::workstation as ws;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The intake's gRPC address.
    #[arg(
        long,
        global = true,
        env = "EGOV_INTAKE_ADDR",
        default_value = "http://127.0.0.1:7500"
    )]
    addr: String,
    /// Where the session is kept (beside the CA directory).
    #[arg(long, global = true, default_value = ".run/intake-session")]
    session: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Process 1: the operator logs in.
    Login {
        login: String,
        #[arg(long)]
        password: String,
    },
    /// The services with a State Corporation channel and their documents.
    Services,
    /// Process 2: the request form (a draft).
    Create {
        /// The regulation's code, e.g. 003.
        regulation: String,
        #[arg(long)]
        recipient: String,
        #[arg(long)]
        phone: String,
        /// A paper document the recipient brought (repeat).
        #[arg(long = "present", value_name = "CODE")]
        present: Vec<String>,
        /// A scan: `<code>=<file>` (repeat).
        #[arg(long = "scan", value_name = "CODE=FILE")]
        scans: Vec<String>,
        /// A form field: `<name>=<value>` (repeat).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        /// A representative's IIN (with a notarised power of attorney).
        #[arg(long, requires_all = ["poa_number", "poa_date"])]
        representative: Option<String>,
        #[arg(long)]
        poa_number: Option<String>,
        /// YYYY-MM-DD
        #[arg(long)]
        poa_date: Option<String>,
        #[arg(long, default_value = "")]
        rep_surname: String,
        #[arg(long, default_value = "")]
        rep_given_name: String,
    },
    /// Sends the one-time consent code to the recipient's phone.
    Consent { reference: String },
    /// The code the recipient read out.
    Confirm { reference: String, code: String },
    /// Process 3: ЖТ МДБ (and БНАЖ) through the gateway.
    Check { reference: String },
    /// Accept the package (or refuse an incomplete one): the signed receipt.
    Accept {
        reference: String,
        #[arg(long, default_value = "receipt.p7s")]
        out: PathBuf,
    },
    /// The requests of this branch (of one recipient with --recipient).
    Requests {
        #[arg(long, default_value = "")]
        recipient: String,
    },
    /// One request with its status history.
    Show { reference: String },
    /// A result returned to the provider unclaimed after a month: ask for
    /// it again (request-unclaimed-result).
    AskBack { reference: String },
    /// Process 9: hand the result over on the presented IIN.
    Issue {
        reference: String,
        #[arg(long)]
        iin: String,
        /// For a representative: the power of attorney's number.
        #[arg(long, default_value = "")]
        poa_number: String,
        #[arg(long, default_value = "result.p7s")]
        out: PathBuf,
    },
    /// Seed 003 §9 3): the accumulation sector registers a package by the
    /// receipt's barcode.
    Scan { barcode: String },
    /// §9 4): the accumulation sector hands packages to a courier.
    Courier {
        /// The courier's login.
        courier: String,
        #[arg(required = true)]
        barcodes: Vec<String>,
    },
    /// §9 5): the courier records a package delivered to the provider.
    Deliver {
        barcode: String,
        /// Who at the provider took it.
        #[arg(long, default_value = "")]
        received_by: String,
    },
    /// The packages on their way (a courier sees their own).
    Packages,
    /// The electronic queue (seed 002 Standard row 7): a talon for a
    /// visitor, or a booking with --at.
    Talon {
        /// The visitor's IIN.
        iin: String,
        /// The service, e.g. 002.
        regulation: String,
        /// Book for this time (RFC 3339, e.g. 2026-12-02T10:00:00+05:00).
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// The operator calls the next talon.
    Next,
    /// The talons waiting, in the order they will be called.
    Queue,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut client = IntakeClient::new(
        crate::grpc::connect(&args.addr, egov_trust::SystemId::Intake)
            .await
            .with_context(|| format!("connecting to the intake at {}", args.addr))?,
    );
    let token = || -> anyhow::Result<String> {
        std::fs::read_to_string(&args.session)
            .map(|t| t.trim().to_owned())
            .context("no session: run `egovctl intake login` first")
    };
    match &args.command {
        Command::Login { login, password } => {
            let session = client
                .login(pb::LoginRequest {
                    login: login.clone(),
                    password: password.clone(),
                })
                .await
                .map_err(refusal)?
                .into_inner();
            std::fs::write(&args.session, &session.token)?;
            output::emit(&session, "egov.intake.v1.Session", || {
                println!(
                    "Logged in as {} ({}); the session is kept in {}.",
                    session.full_name,
                    session.login,
                    args.session.display()
                )
            });
        }
        Command::Services => {
            let services = client
                .list_services(pb::ListServicesRequest {})
                .await
                .map_err(refusal)?
                .into_inner();
            if output::json() {
                output::print_json(&output::proto_json(
                    &services,
                    "egov.intake.v1.ListServicesResponse",
                ));
                return Ok(());
            }
            for s in services.services {
                println!("{:<8} {:<22} {}", s.code, s.deadline, s.en);
                for d in s.documents {
                    println!("           {:<34} {}", d.code, d.en);
                }
            }
        }
        Command::Create {
            regulation,
            recipient,
            phone,
            present,
            scans,
            fields,
            representative,
            poa_number,
            poa_date,
            rep_surname,
            rep_given_name,
        } => {
            let request = pb::CreateRequestRequest {
                regulation: regulation.clone(),
                recipient: Some(pb::Recipient {
                    iin: recipient.clone(),
                    phone: phone.clone(),
                }),
                representative: representative.as_ref().map(|iin| pb::RepresentativeEntry {
                    iin: iin.clone(),
                    power_of_attorney_number: poa_number.clone().unwrap_or_default(),
                    power_of_attorney_date: poa_date.clone().unwrap_or_default(),
                    surname: rep_surname.clone(),
                    given_name: rep_given_name.clone(),
                    patronymic: String::new(),
                }),
                documents_present: present.clone(),
                scans: scans
                    .iter()
                    .map(|s| scan(s))
                    .collect::<anyhow::Result<_>>()?,
                form: fields
                    .iter()
                    .map(|f| {
                        let (name, value) = f
                            .split_once('=')
                            .with_context(|| format!("--field {f:?}: expected NAME=VALUE"))?;
                        Ok(ws::FormField {
                            name: name.into(),
                            value: value.into(),
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
            };
            let view = client
                .create_request(authorized(&token()?, request))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&view, "egov.intake.v1.RequestView", || {
                println!("Draft {} for service {}.", view.reference, view.regulation);
                println!(
                    "Next: egovctl intake consent {} (a code goes to {phone})",
                    view.reference
                );
            });
        }
        Command::Consent { reference } => {
            let sent = client
                .send_consent_code(authorized(
                    &token()?,
                    pb::SendConsentCodeRequest {
                        reference: reference.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&sent, "egov.intake.v1.ConsentCodeSent", || {
                println!(
                    "A one-time code was sent to {}; ask the recipient for it, then: egovctl intake confirm {reference} <code>",
                    sent.phone
                )
            });
        }
        Command::Confirm { reference, code } => {
            let view = client
                .confirm_consent(authorized(
                    &token()?,
                    pb::ConfirmConsentRequest {
                        reference: reference.clone(),
                        code: code.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&view, "egov.intake.v1.RequestView", || {
                println!("Consent recorded for {}.", view.reference)
            });
        }
        Command::Check { reference } => {
            let view = client
                .check_registries(authorized(
                    &token()?,
                    pb::CheckRegistriesRequest {
                        reference: reference.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&view, "egov.intake.v1.RequestView", || show(&view));
        }
        Command::Accept { reference, out } => {
            let receipt = client
                .accept(authorized(
                    &token()?,
                    pb::AcceptRequest {
                        reference: reference.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&receipt, "egov.intake.v1.Receipt", || {
                println!("{}", receipt.text)
            });
            std::fs::write(out, &receipt.cms)?;
            if !output::json() {
                println!(
                    "\nThe receipt, signed by the operator (CMS, DER): {}",
                    out.display()
                );
            }
        }
        Command::Requests { recipient } => {
            let list = client
                .list_requests(authorized(
                    &token()?,
                    pb::ListRequestsRequest {
                        recipient_iin: recipient.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            if output::json() {
                output::print_json(&output::proto_json(
                    &list,
                    "egov.intake.v1.ListRequestsResponse",
                ));
                return Ok(());
            }
            for r in list.requests {
                println!(
                    "{:<38} {:<8} {:<22} {}",
                    r.reference,
                    r.regulation,
                    stage_name(r.stage()),
                    r.journal_number
                );
            }
        }
        Command::Show { reference } => {
            let view = client
                .get_request(authorized(
                    &token()?,
                    pb::GetRequestRequest {
                        reference: reference.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&view, "egov.intake.v1.RequestView", || show(&view));
        }
        Command::AskBack { reference } => {
            let view = client
                .ask_for_returned_result(authorized(
                    &token()?,
                    pb::AskForReturnedResultRequest {
                        reference: reference.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&view, "egov.intake.v1.RequestView", || {
                println!(
                    "Asked the provider for the result of {} again ({}).",
                    view.reference,
                    stage_name(view.stage())
                )
            });
        }
        Command::Issue {
            reference,
            iin,
            poa_number,
            out,
        } => {
            let issued = client
                .issue_result(authorized(
                    &token()?,
                    pb::IssueResultRequest {
                        reference: reference.clone(),
                        presented_iin: iin.clone(),
                        power_of_attorney_number: poa_number.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            std::fs::write(out, &issued.cms)?;
            output::emit(&issued, "egov.intake.v1.IssuedResult", || {
                println!(
                    "Handed over to {iin}; the provider's signed result (CMS, DER): {}",
                    out.display()
                )
            });
        }
        Command::Scan { barcode } => {
            let package = client
                .scan_package(authorized(
                    &token()?,
                    pb::ScanPackageRequest {
                        barcode: barcode.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&package, "egov.intake.v1.PaperPackage", || {
                show_package(&package)
            });
        }
        Command::Courier { courier, barcodes } => {
            let handed = client
                .hand_to_courier(authorized(
                    &token()?,
                    pb::HandToCourierRequest {
                        barcodes: barcodes.clone(),
                        courier: courier.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&handed, "egov.intake.v1.ListPackagesResponse", || {
                handed.packages.iter().for_each(show_package)
            });
        }
        Command::Deliver {
            barcode,
            received_by,
        } => {
            let package = client
                .record_delivery(authorized(
                    &token()?,
                    pb::RecordDeliveryRequest {
                        barcode: barcode.clone(),
                        received_by: received_by.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&package, "egov.intake.v1.PaperPackage", || {
                show_package(&package)
            });
        }
        Command::Packages => {
            let list = client
                .list_packages(authorized(&token()?, pb::ListPackagesRequest::default()))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&list, "egov.intake.v1.ListPackagesResponse", || {
                list.packages.iter().for_each(show_package)
            });
        }
        Command::Talon {
            iin,
            regulation,
            at,
        } => {
            let talon = client
                .take_talon(pb::TakeTalonRequest {
                    iin: iin.clone(),
                    regulation: regulation.clone(),
                    booked_for: at.map(|at| egov_bus::envelope::timestamp(at.to_utc())),
                })
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&talon, "egov.intake.v1.Talon", || show_talon(&talon));
        }
        Command::Next => {
            let talon = client
                .call_next_talon(authorized(&token()?, pb::CallNextTalonRequest {}))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&talon, "egov.intake.v1.Talon", || show_talon(&talon));
        }
        Command::Queue => {
            let list = client
                .list_talons(authorized(&token()?, pb::ListTalonsRequest {}))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&list, "egov.intake.v1.ListTalonsResponse", || {
                list.waiting.iter().for_each(show_talon)
            });
        }
    }
    Ok(())
}

/// "STAGE_RESULT_READY" → "result ready".
fn stage_name(stage: pb::Stage) -> String {
    stage
        .as_str_name()
        .trim_start_matches("STAGE_")
        .replace('_', " ")
        .to_lowercase()
}

fn local(at: &Option<egov_proto::prost_types::Timestamp>) -> String {
    at.as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| {
            egov_calendar::to_local(t)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

fn show_package(p: &pb::PaperPackage) {
    println!(
        "{}  {} {}  to {}  accepted {}  scanned {} {}  courier {} {}  delivered {} {}",
        p.barcode,
        p.regulation,
        p.state()
            .as_str_name()
            .trim_start_matches("PACKAGE_STATE_")
            .replace('_', " ")
            .to_lowercase(),
        p.direction,
        local(&p.accepted_at),
        local(&p.scanned_at),
        p.scanned_by,
        local(&p.handed_at),
        p.courier,
        local(&p.delivered_at),
        p.received_by
    );
}

fn show_talon(t: &pb::Talon) {
    let when = match t.kind() {
        pb::TalonKind::Booked => format!("booked for {}", local(&t.booked_for)),
        _ => format!("taken {}", local(&t.taken_at)),
    };
    let called = if t.called_at.is_some() {
        format!("called {} by {}", local(&t.called_at), t.called_by)
    } else {
        format!("{} ahead", t.ahead)
    };
    println!(
        "{}  {}  {} {}  {}  {}",
        t.number, t.branch, t.regulation, t.iin, when, called
    );
}

fn show(view: &pb::RequestView) {
    println!("request   {}", view.reference);
    println!("service   {} {}", view.regulation, view.service_name);
    println!("stage     {}", stage_name(view.stage()));
    if let Some(p) = &view.recipient {
        println!("recipient {} {} ({})", p.surname, p.given_name, p.iin);
    }
    if !view.lookup_problem.is_empty() {
        println!("process 4: {}", view.lookup_problem);
    }
    if !view.journal_number.is_empty() {
        println!("journal   {}", view.journal_number);
    }
    for h in &view.history {
        println!("  {}", h.text);
    }
    if !view.refusal_code.is_empty() {
        println!(
            "not accepted: {} — {}",
            view.refusal_code, view.refusal_message
        );
    }
    if let Some(package) = &view.package {
        print!("paper     ");
        show_package(package);
    }
}

fn scan(spec: &str) -> anyhow::Result<ws::Document> {
    let (code, file) = spec
        .split_once('=')
        .with_context(|| format!("--scan {spec:?}: expected CODE=FILE"))?;
    let content = std::fs::read(file).with_context(|| format!("reading {file}"))?;
    let media_type = match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => "application/pdf",
    };
    Ok(ws::Document {
        code: code.into(),
        name: file.into(),
        media_type: media_type.into(),
        sha256: egov_trust::sha256(&content).to_vec().into(),
        content: content.into(),
        on_paper: false,
    })
}

fn authorized<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// A refusal as a person reads it: the intake's message starts with its code.
fn refusal(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}", status.message())
}
