//! `egovctl portal`: walk diagram 2 from the terminal as a citizen would on
//! egov.kz — register, log in (password or EDS), see the catalogue, sign and
//! submit an application with the citizen's EDS (as NCALayer would, from the
//! key files `egovctl pki citizen` writes), watch the cabinet, download the
//! result and check it with `openssl cms -verify`.
//!
//! The session token of the last login is kept in `<pki>/../portal-session`
//! (`.run/portal-session`), so the commands after `login` need no token.

use crate::output;
use anyhow::{Context as _, bail};
use egov_proto::portal::portal_client::PortalClient;
use egov_proto::portal::{self as pb};
use egov_proto::workstation as ws;
use egov_trust::cms::{self, Encapsulation};
use egov_trust::{Iin, SigningKey};
use std::path::{Path, PathBuf};
use tonic::transport::Channel;

#[derive(clap::Args)]
pub struct Args {
    /// The portal's gRPC address.
    #[arg(
        long,
        global = true,
        env = "EGOV_PORTAL_ADDR",
        default_value = "http://127.0.0.1:7400"
    )]
    addr: String,
    /// The CA directory (the citizens' EDS are in `citizens/<iin>/`).
    #[arg(long, global = true, default_value = crate::commands::pki::DEFAULT_DIR)]
    pki: PathBuf,
    /// A session token (default: the last `login`'s).
    #[arg(long, global = true, env = "EGOV_PORTAL_TOKEN")]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Registration by IIN (the pre-step of diagram 2): the portal asks ЖТ МДБ.
    Register {
        iin: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        phone: String,
    },
    /// Log in by IIN and password (process 1), or with `--eds` by signing a
    /// challenge with the authentication key of `pki citizen <iin>`.
    Login {
        iin: String,
        #[arg(long, required_unless_present = "eds")]
        password: Option<String>,
        #[arg(long)]
        eds: bool,
    },
    /// The services offered on the portal.
    Services,
    /// The documents and form of one service.
    Service { code: String },
    /// Prepare, sign with the citizen's signing key and submit (processes 3-5).
    Apply {
        /// The regulation's code, e.g. 003.
        regulation: String,
        /// A document: `<code>=<file>` (repeat). The media type follows the
        /// file's extension (.pdf, .jpg, .png).
        #[arg(long = "doc", value_name = "CODE=FILE")]
        documents: Vec<String>,
        /// A form field: `<name>=<value>` (repeat).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
    },
    /// The cabinet: every application and where it stands.
    Applications,
    /// One application with its status history.
    Show { reference: String },
    /// Download the signed result (CMS, DER) to a file.
    Result {
        reference: String,
        #[arg(long, default_value = "result.p7s")]
        out: PathBuf,
    },
    /// What the portal sent the citizen (egov.kz's SMS).
    Notifications,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut client = PortalClient::new(
        crate::grpc::connect(&args.addr, egov_trust::SystemId::Portal)
            .await
            .with_context(|| format!("connecting to the portal at {}", args.addr))?,
    );
    let session_file = args
        .pki
        .parent()
        .unwrap_or(Path::new("."))
        .join("portal-session");
    let token = || -> anyhow::Result<String> {
        match &args.token {
            Some(t) => Ok(t.clone()),
            None => std::fs::read_to_string(&session_file)
                .map(|t| t.trim().to_owned())
                .context("no session: run `egovctl portal login` first"),
        }
    };
    match &args.command {
        Command::Register {
            iin,
            password,
            phone,
        } => {
            let r = client
                .register(pb::RegisterRequest {
                    iin: iin.clone(),
                    password: password.clone(),
                    phone: phone.clone(),
                    consent: true,
                })
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&r, "egov.portal.v1.RegisterResponse", || {
                println!("Registered {} ({}).", r.full_name, r.iin)
            });
        }
        Command::Login { iin, password, eds } => {
            let session = if *eds {
                eds_login(&mut client, &args.pki, iin).await?
            } else {
                client
                    .login(pb::LoginRequest {
                        iin: iin.clone(),
                        password: password.clone().unwrap_or_default(),
                    })
                    .await
                    .map_err(refusal)?
                    .into_inner()
            };
            std::fs::write(&session_file, &session.token)
                .with_context(|| format!("writing {}", session_file.display()))?;
            output::emit(&session, "egov.portal.v1.Session", || {
                println!(
                    "Logged in as {} ({}); the session is kept in {}.",
                    session.full_name,
                    session.iin,
                    session_file.display()
                )
            });
        }
        Command::Services => {
            let services = client
                .list_services(pb::ListServicesRequest {})
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&services, "egov.portal.v1.ListServicesResponse", || {
                println!("{:<8} {:<22} service", "code", "deadline");
                for s in &services.services {
                    println!("{:<8} {:<22} {}", s.code, s.deadline, s.en);
                }
            });
        }
        Command::Service { code } => {
            let services = client
                .list_services(pb::ListServicesRequest {})
                .await
                .map_err(refusal)?
                .into_inner()
                .services;
            let Some(s) = services.into_iter().find(|s| &s.code == code) else {
                bail!(
                    "unknown_service: no service {code} on the portal (see `egovctl portal services`)"
                );
            };
            if output::json() {
                output::print_json(&output::proto_json(&s, "egov.portal.v1.CatalogueService"));
                return Ok(());
            }
            println!(
                "{} {}\n  {}\n  deadline: {} ({})",
                s.code, s.en, s.ru, s.deadline, s.source
            );
            println!("Documents to attach (--doc <code>=<file>):");
            for d in &s.documents {
                let when = if d.condition.is_empty() {
                    String::new()
                } else {
                    format!(" — only {}", d.condition)
                };
                println!("  {:<34} {}{when}", d.code, d.en);
            }
            if !s.obtained_by_provider.is_empty() {
                println!("Obtained by the provider through the gateway (not asked):");
                for d in &s.obtained_by_provider {
                    println!("  {:<34} {}", d.code, d.en);
                }
            }
            if !s.form.is_empty() {
                println!("Form fields (--field <name>=<value>):");
                for f in s.form.iter().filter(|f| f.required) {
                    println!("  {:<34} {:<12} {}", f.name, f.r#type, f.en);
                }
            }
        }
        Command::Apply {
            regulation,
            documents,
            fields,
        } => {
            let token = token()?;
            let draft = pb::PrepareApplicationRequest {
                regulation: regulation.clone(),
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
                documents: documents
                    .iter()
                    .map(|d| read_document(d))
                    .collect::<anyhow::Result<_>>()?,
                consent: true,
            };
            let prepared = client
                .prepare_application(authorized(&token, draft))
                .await
                .map_err(refusal)?
                .into_inner();
            let application = <ws::Application as egov_proto::prost::Message>::decode(
                prepared.document.as_ref(),
            )?;
            let iin = application
                .applicant
                .map(|p| p.iin)
                .context("the prepared application names no applicant")?;
            let (key, certificate) = citizen_key(&args.pki, &iin, "sign")?;
            let signed = cms::sign(
                &prepared.document,
                &key,
                &certificate,
                Encapsulation::Attached,
                chrono::Utc::now(),
            )?;
            let view = client
                .submit(authorized(
                    &token,
                    pb::SubmitRequest {
                        signed_application: signed.into(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&view, "egov.portal.v1.ApplicationView", || {
                println!(
                    "Signed with the EDS of {iin} and sent: request {} ({}).",
                    view.reference,
                    stage(view.stage())
                );
                println!("Follow it: egovctl portal show {}", view.reference);
            });
        }
        Command::Applications => {
            let token = token()?;
            let list = client
                .list_applications(authorized(&token, pb::ListApplicationsRequest {}))
                .await
                .map_err(refusal)?
                .into_inner();
            if output::json() {
                output::print_json(&output::proto_json(
                    &list,
                    "egov.portal.v1.ListApplicationsResponse",
                ));
                return Ok(());
            }
            println!(
                "{:<38} {:<8} {:<13} {:<14} expected",
                "reference", "service", "stage", "journal"
            );
            for a in list.applications {
                println!(
                    "{:<38} {:<8} {:<13} {:<14} {}",
                    a.reference,
                    a.regulation,
                    stage(a.stage()),
                    a.journal_number,
                    time(a.result_expected_at)
                );
            }
        }
        Command::Show { reference } => {
            let token = token()?;
            let a = client
                .get_application(authorized(
                    &token,
                    pb::GetApplicationRequest {
                        reference: reference.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            if output::json() {
                output::print_json(&output::proto_json(&a, "egov.portal.v1.ApplicationView"));
                return Ok(());
            }
            println!("request    {}", a.reference);
            println!("service    {} {}", a.regulation, a.service_name);
            println!("stage      {}", stage(a.stage()));
            println!("journal    {}", a.journal_number);
            println!("submitted  {}", time(a.submitted_at));
            println!("expected   {}", time(a.result_expected_at));
            if !a.refusal_code.is_empty() {
                println!("not accepted: {} — {}", a.refusal_code, a.refusal_message);
            }
            for h in &a.history {
                println!("  {}  {}", time(h.at), h.text);
            }
            for g in &a.grounds {
                println!("  ground: {} ({})", g.text, g.source);
            }
            for r in &a.reasons {
                println!("  reason: {r}");
            }
            if a.has_result {
                println!("The result is ready: egovctl portal result {}", a.reference);
            }
        }
        Command::Result { reference, out } => {
            let token = token()?;
            let file = client
                .get_result(authorized(
                    &token,
                    pb::GetResultRequest {
                        reference: reference.clone(),
                    },
                ))
                .await
                .map_err(refusal)?
                .into_inner();
            std::fs::write(out, &file.cms).with_context(|| format!("writing {}", out.display()))?;
            if output::json() {
                output::print_json(&output::proto_json(&file, "egov.portal.v1.ResultFile"));
                return Ok(());
            }
            if let Some(doc) = &file.document {
                println!(
                    "{} {} of {} — signed by {} (IIN {})",
                    doc.result_code,
                    doc.journal_number,
                    doc.provider_name,
                    doc.signer_name,
                    doc.signer_iin
                );
            }
            println!(
                "Written to {} (CMS SignedData, DER). Check it from outside:",
                out.display()
            );
            println!(
                "  openssl cms -verify -binary -inform DER -in {} -CAfile {} -purpose any -out /dev/null",
                out.display(),
                args.pki.join("ca.crt.pem").display()
            );
        }
        Command::Notifications => {
            let token = token()?;
            let list = client
                .list_notifications(authorized(&token, pb::ListNotificationsRequest {}))
                .await
                .map_err(refusal)?
                .into_inner();
            if output::json() {
                output::print_json(&output::proto_json(
                    &list,
                    "egov.portal.v1.ListNotificationsResponse",
                ));
                return Ok(());
            }
            for n in list.notifications {
                println!("{}  {}  {}", time(n.at), n.phone, n.text);
            }
        }
    }
    Ok(())
}

async fn eds_login(
    client: &mut PortalClient<Channel>,
    pki: &Path,
    iin: &str,
) -> anyhow::Result<pb::Session> {
    let challenge = client
        .start_eds_login(pb::StartEdsLoginRequest {})
        .await
        .map_err(refusal)?
        .into_inner();
    let (key, certificate) = citizen_key(pki, iin, "auth")?;
    let signature = cms::sign(
        &challenge.challenge,
        &key,
        &certificate,
        Encapsulation::Attached,
        chrono::Utc::now(),
    )?;
    Ok(client
        .finish_eds_login(pb::FinishEdsLoginRequest {
            challenge_id: challenge.challenge_id,
            signature: signature.into(),
        })
        .await
        .map_err(refusal)?
        .into_inner())
}

/// The citizen's key and certificate (`auth` or `sign`), as `pki citizen`
/// wrote them.
fn citizen_key(pki: &Path, iin: &str, which: &str) -> anyhow::Result<(SigningKey, Vec<u8>)> {
    let iin: Iin = iin.parse().map_err(|e| anyhow::anyhow!("{iin}: {e}"))?;
    let dir = pki.join("citizens").join(iin.to_string());
    let read = |name: String| {
        let path = dir.join(&name);
        std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (issue the EDS with `egovctl pki citizen {iin} --surname … --given-name …`)",
                path.display()
            )
        })
    };
    let key = SigningKey::from_pem(&read(format!("{which}.key.pem"))?)
        .map_err(|e| anyhow::anyhow!("the {which} key: {e}"))?;
    let certificate =
        egov_trust::signing::pem_block(&read(format!("{which}.crt.pem"))?, "CERTIFICATE")
            .map_err(|e| anyhow::anyhow!("the {which} certificate: {e}"))?;
    Ok((key, certificate))
}

fn read_document(spec: &str) -> anyhow::Result<ws::Document> {
    let (code, file) = spec
        .split_once('=')
        .with_context(|| format!("--doc {spec:?}: expected CODE=FILE"))?;
    let content = std::fs::read(file).with_context(|| format!("reading {file}"))?;
    let media_type = match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("p7s") => "application/pkcs7-signature",
        _ => "application/pdf",
    };
    Ok(ws::Document {
        code: code.into(),
        name: Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
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

/// A refusal as a person reads it: the portal's message starts with its code.
fn refusal(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}", status.message())
}

fn stage(stage: pb::Stage) -> &'static str {
    match stage {
        pb::Stage::Unspecified => "?",
        pb::Stage::Sent => "sent",
        pb::Stage::Accepted => "accepted",
        pb::Stage::InProgress => "in progress",
        pb::Stage::Issued => "issued",
        pb::Stage::Refused => "refused",
        pb::Stage::NotAccepted => "not accepted",
    }
}

fn time(t: Option<egov_proto::prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(egov_bus::envelope::from_timestamp)
        .map(|t| {
            egov_calendar::to_local(t)
                .format("%d.%m.%Y %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}
