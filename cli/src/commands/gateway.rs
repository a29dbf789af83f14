//! `egovctl gateway`: ask the running gateway about messages, conversations,
//! routes and its log (the same gRPC API a partner or grpcurl uses).

use crate::output;
use chrono::{DateTime, Utc};
use egov_gateway::archive::offline::{self, CheckCode, Problem};
use egov_proto::envelope::{DeliveryStatus, Kind};
use egov_proto::gateway::gateway_client::GatewayClient;
use egov_proto::gateway::{
    ArchiveLogRequest, ExportEvidenceRequest, GetStatusRequest, ListRoutesRequest, TraceRequest,
    VerifyLogRequest,
};
use std::path::{Path, PathBuf};

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
    /// The delivery status of one message (read as the gateway's operator:
    /// signed with the gateway's key from --pki).
    Status {
        message_id: String,
        #[arg(long, env = "EGOV_PKI", default_value = crate::commands::pki::DEFAULT_DIR)]
        pki: PathBuf,
    },
    /// The messages of one conversation (application, case), in log order.
    Trace {
        conversation_id: String,
        #[arg(long, env = "EGOV_PKI", default_value = crate::commands::pki::DEFAULT_DIR)]
        pki: PathBuf,
    },
    /// The routing table with each row's source in the regulations.
    Routes,
    /// Sign a message as a system (with its key from the CA directory) and
    /// send it through the gateway's gRPC Send.
    Send(SendArgs),
    /// The same, as a synchronous request: wait for the receiver's answer.
    Call(SendArgs),
    /// Recompute the message log's hash chain (whole log by default; what
    /// is archived is checked with verify-archive).
    VerifyLog {
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 0)]
        to: u64,
        #[arg(long, env = "EGOV_PKI", default_value = crate::commands::pki::DEFAULT_DIR)]
        pki: PathBuf,
    },
    /// Move the log rows logged before a time out of the gateway's database
    /// into signed archive files in its archive directory (an operator's
    /// act: signed with the gateway's key from --pki).
    Archive {
        /// RFC 3339 time, a date (midnight UTC) or "now".
        #[arg(long, value_parser = parse_until)]
        until: DateTime<Utc>,
        /// The CA directory holding the gateway's key.
        #[arg(long, default_value = crate::commands::pki::DEFAULT_DIR)]
        pki: PathBuf,
    },
    /// Verify archive files offline, with only the CA certificate: the
    /// signature, every row's hash, and that the files chain to each other.
    VerifyArchive {
        /// Archive files, or directories of them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The mesh CA's certificate (PEM or DER).
        #[arg(long, default_value = DEFAULT_CA)]
        ca: PathBuf,
    },
    /// Export one conversation's envelopes with their log proof as a
    /// signed evidence file (an operator's act, as archive).
    Evidence {
        conversation_id: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = crate::commands::pki::DEFAULT_DIR)]
        pki: PathBuf,
    },
    /// Verify an evidence file offline, with only the CA certificate (and,
    /// given them, against the archive files its rows are in).
    VerifyEvidence {
        file: PathBuf,
        #[arg(long, default_value = DEFAULT_CA)]
        ca: PathBuf,
        /// Archive files, or directories of them, to check the archived
        /// rows against.
        #[arg(long = "archive")]
        archives: Vec<PathBuf>,
    },
}

const DEFAULT_CA: &str = ".run/pki/ca.crt.pem";

/// `--until`: an RFC 3339 time, a date (its midnight, UTC) or "now".
fn parse_until(text: &str) -> Result<DateTime<Utc>, String> {
    if text == "now" {
        return Ok(Utc::now());
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{text:?} is not an RFC 3339 time, a date (YYYY-MM-DD) or \"now\""))
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

/// A system's signing identity, its certificate and key from the CA
/// directory `pki`.
pub fn identity_in(
    pki: &std::path::Path,
    system: egov_trust::SystemId,
) -> anyhow::Result<egov_trust::Identity> {
    let unavailable = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "credential_unavailable: {system}'s key in {}: {e}",
            pki.display()
        )
    };
    let dir = egov_trust::ca_dir::CaDirectory::open(pki).map_err(|e| unavailable(&e))?;
    let (cert, key) = dir.paths_for(&egov_trust::ca::SubjectSpec::System(system));
    egov_trust::Identity::load(&cert, &key).map_err(|e| unavailable(&e))
}

/// Signs `message` as `sender`, with its key from the CA directory `pki`.
pub fn sign_as(
    pki: &std::path::Path,
    sender: egov_trust::SystemId,
    message: &egov_bus::Outgoing,
) -> anyhow::Result<egov_proto::envelope::Envelope> {
    let identity = identity_in(pki, sender)?;
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
    // Offline: no gateway needed.
    match args.command {
        Command::VerifyArchive { files, ca } => return verify_archive(&files, &ca),
        Command::VerifyEvidence { file, ca, archives } => {
            return verify_evidence(&file, &ca, &archives);
        }
        _ => {}
    }
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
    match args.command {
        Command::Status { message_id, pki } => {
            let s = client
                .get_status(GetStatusRequest {
                    message_id,
                    credential: Some(read_credential(&pki)?),
                })
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
        Command::Trace {
            conversation_id,
            pki,
        } => {
            let trace = client
                .trace(TraceRequest {
                    conversation_id,
                    credential: Some(read_credential(&pki)?),
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
                        "{:>6}  {:<23}  {:<36}  {:<12}  {:<30}  {:<10}  {}{}",
                        e.log_sequence,
                        time(&e.logged_at),
                        e.message_id,
                        kind,
                        format!("{}→{} {}", e.sender, e.receiver, e.service),
                        status_name(e.status),
                        e.verdict,
                        if e.archive.is_empty() {
                            String::new()
                        } else {
                            format!("  (archived: {})", e.archive)
                        }
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
        Command::VerifyLog { from, to, pki } => {
            let r = client
                .verify_log(VerifyLogRequest {
                    credential: Some(read_credential(&pki)?),
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
                    if r.anchor_sequence > 0 {
                        println!(
                            "rows 1 to {} are archived; the database's chain starts from {}",
                            r.anchor_sequence,
                            hex(&r.anchor_hash)
                        );
                    }
                } else {
                    println!("BROKEN at row {}: {}", r.first_bad_sequence, r.problem);
                }
            });
            if !r.intact {
                anyhow::bail!("log_broken: at row {}: {}", r.first_bad_sequence, r.problem);
            }
        }
        Command::Archive { until, pki } => {
            let r = client
                .archive_log(ArchiveLogRequest {
                    credential: Some(operator_credential(&pki)?),
                    until: Some(egov_bus::envelope::timestamp(until)),
                })
                .await
                .map_err(refusal)?
                .into_inner();
            output::emit(&r, "egov.gateway.v1.ArchiveLogResponse", || {
                if r.files.is_empty() {
                    println!("nothing to archive before {}", until.to_rfc3339());
                }
                for f in &r.files {
                    println!(
                        "archived rows {} to {} into {} ({} rows, {} bytes, sha256 {})",
                        f.first_sequence,
                        f.last_sequence,
                        std::path::Path::new(&r.archive_dir).join(&f.file).display(),
                        f.rows,
                        f.size_bytes,
                        hex(&f.sha256)
                    );
                }
                if r.anchor_sequence > 0 {
                    println!(
                        "the database's chain starts after row {} ({})",
                        r.anchor_sequence,
                        hex(&r.anchor_hash)
                    );
                }
                if !r.held_by_message.is_empty() {
                    println!(
                        "stopped at row {}: message {} is not final yet; it and the later rows stay",
                        r.held_at_sequence, r.held_by_message
                    );
                }
            });
        }
        Command::Evidence {
            conversation_id,
            out,
            pki,
        } => {
            let r = client
                .max_decoding_message_size(usize::MAX)
                .export_evidence(ExportEvidenceRequest {
                    credential: Some(operator_credential(&pki)?),
                    conversation_id: conversation_id.clone(),
                })
                .await
                .map_err(refusal)?
                .into_inner();
            std::fs::write(&out, &r.evidence)
                .map_err(|e| anyhow::anyhow!("file_unwritable: {}: {e}", out.display()))?;
            output::say(
                serde_json::json!({
                    "conversation_id": conversation_id,
                    "out": out.display().to_string(),
                    "rows": r.rows,
                    "archived_rows": r.archived_rows,
                    "size_bytes": r.evidence.len(),
                    "sha256": hex(&egov_trust::sha256(&r.evidence)),
                }),
                || {
                    println!(
                        "evidence of conversation {conversation_id}: {} rows ({} from archives), written to {} ({} bytes)",
                        r.rows,
                        r.archived_rows,
                        out.display(),
                        r.evidence.len()
                    );
                },
            );
        }
        Command::VerifyArchive { .. } | Command::VerifyEvidence { .. } => unreachable!(),
    }
    Ok(())
}

/// The operator's credential for the reads (GetStatus, Trace, VerifyLog):
/// service "read", signed with the gateway's own key from the CA directory.
pub fn read_credential(pki: &Path) -> anyhow::Result<egov_proto::envelope::Envelope> {
    let identity = identity_in(pki, egov_trust::SystemId::Gateway)?;
    Ok(egov_bus::envelope::credential(
        &identity,
        egov_gateway::receive::READ_SERVICE,
    ))
}

/// An operator's credential: a fresh envelope to the gateway, service
/// "operate", signed with the gateway's own key from the CA directory.
fn operator_credential(pki: &Path) -> anyhow::Result<egov_proto::envelope::Envelope> {
    let identity = identity_in(pki, egov_trust::SystemId::Gateway)?;
    Ok(egov_bus::envelope::credential(
        &identity,
        egov_gateway::receive::OPERATE_SERVICE,
    ))
}

/// Reads files; a directory stands for the archive files in it.
fn read_files(paths: &[PathBuf]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let unreadable = |path: &Path, e: std::io::Error| {
        anyhow::anyhow!(
            "{}",
            Problem {
                code: CheckCode::FileUnreadable,
                file: path.display().to_string(),
                row: None,
                words: e.to_string(),
            }
        )
    };
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| unreadable(path, e))?
                .flatten()
                .map(|entry| entry.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(egov_gateway::archive::format::parse_file_name)
                        .is_some()
                })
                .collect();
            names.sort();
            for name in names {
                let bytes = std::fs::read(&name).map_err(|e| unreadable(&name, e))?;
                files.push((name.display().to_string(), bytes));
            }
        } else {
            let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
            files.push((path.display().to_string(), bytes));
        }
    }
    Ok(files)
}

fn read_ca(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| {
        anyhow::anyhow!(
            "{}",
            Problem {
                code: CheckCode::InvalidCa,
                file: path.display().to_string(),
                row: None,
                words: e.to_string(),
            }
        )
    })?;
    offline::read_ca(&bytes).map_err(|p| anyhow::anyhow!("{p}"))
}

fn at(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

fn verify_archive(paths: &[PathBuf], ca: &Path) -> anyhow::Result<()> {
    let ca = read_ca(ca)?;
    let files = read_files(paths)?;
    let checked = offline::verify_archives(&files, &ca).map_err(|p| anyhow::anyhow!("{p}"))?;
    let json_files: Vec<serde_json::Value> = checked
        .files
        .iter()
        .map(|f| {
            serde_json::json!({
                "file": f.file,
                "first_sequence": f.first_sequence,
                "last_sequence": f.last_sequence,
                "rows": f.rows,
                "prev_hash": hex(&f.prev_hash),
                "last_hash": hex(&f.last_hash),
                "first_logged_at": f.first_logged_at.map(|t| t.to_rfc3339()),
                "last_logged_at": f.last_logged_at.map(|t| t.to_rfc3339()),
                "sha256": hex(&f.sha256),
                "size_bytes": f.size_bytes,
                "signer": f.signer.subject,
                "signer_serial": f.signer.serial,
                "signed_at": f.signer.signed_at.map(|t| t.to_rfc3339()),
            })
        })
        .collect();
    output::say(
        serde_json::json!({
            "intact": true,
            "files": json_files,
            "first_sequence": checked.first_sequence,
            "last_sequence": checked.last_sequence,
            "prev_hash": hex(&checked.prev_hash),
            "last_hash": hex(&checked.last_hash),
        }),
        || {
            for f in &checked.files {
                println!(
                    "{}  rows {} to {} ({}), logged {} to {}, signed by {} at {}: intact",
                    f.file,
                    f.first_sequence,
                    f.last_sequence,
                    f.rows,
                    at(f.first_logged_at),
                    at(f.last_logged_at),
                    f.signer.subject,
                    at(f.signer.signed_at)
                );
            }
            println!(
                "intact: {} file(s), rows {} to {} chained; the chain goes on after row {} from {}",
                checked.files.len(),
                checked.first_sequence,
                checked.last_sequence,
                checked.last_sequence,
                hex(&checked.last_hash)
            );
        },
    );
    Ok(())
}

fn verify_evidence(file: &Path, ca: &Path, archives: &[PathBuf]) -> anyhow::Result<()> {
    let ca = read_ca(ca)?;
    let evidence = read_files(&[file.to_path_buf()])?;
    let archives = read_files(archives)?;
    let (name, bytes) = &evidence[0];
    let checked = offline::verify_evidence(name, bytes, &ca, &archives)
        .map_err(|p| anyhow::anyhow!("{p}"))?;
    let where_ = |archive: &str| {
        if archive.is_empty() {
            "database".to_owned()
        } else {
            archive.to_owned()
        }
    };
    let rows: Vec<serde_json::Value> = checked
        .rows
        .iter()
        .map(|r| {
            let row = &r.row;
            serde_json::json!({
                "sequence": row.sequence,
                "logged_at": egov_gateway::archive::format::from_micros(row.logged_at_micros).map(|t| t.to_rfc3339()),
                "message_id": egov_gateway::archive::format::message_id(row),
                "kind": kind_name(row.kind),
                "sender": row.sender,
                "receiver": row.receiver,
                "service": row.service,
                "correlation_id": row.correlation_id,
                "verdict": row.verdict,
                "envelope_bytes": row.envelope.len(),
                "prev_hash": hex(&row.prev_hash),
                "row_hash": hex(&row.row_hash),
                "archive": r.archive,
                "checked_against_archive": r.matched_archive,
            })
        })
        .collect();
    let anchors: Vec<serde_json::Value> = checked
        .anchors
        .iter()
        .map(|a| {
            serde_json::json!({
                "archive": a.file,
                "first_sequence": a.first_sequence,
                "last_sequence": a.last_sequence,
                "prev_hash": hex(&a.prev_hash),
                "last_hash": hex(&a.last_hash),
                "file_sha256": hex(&a.file_sha256),
            })
        })
        .collect();
    output::say(
        serde_json::json!({
            "intact": true,
            "conversation_id": checked.conversation_id,
            "exported_at": checked.exported_at.map(|t| t.to_rfc3339()),
            "signer": checked.signer.subject,
            "signer_serial": checked.signer.serial,
            "rows": rows,
            "anchors": anchors,
        }),
        || {
            println!(
                "evidence of conversation {}, exported {}, signed by {}",
                checked.conversation_id,
                at(checked.exported_at),
                checked.signer.subject
            );
            println!(
                "{:>6}  {:<27}  {:<36}  {:<12}  {:<30}  {:<22}  WHERE",
                "SEQ", "LOGGED", "MESSAGE", "KIND", "ROUTE", "VERDICT"
            );
            for r in &checked.rows {
                let row = &r.row;
                println!(
                    "{:>6}  {:<27}  {:<36}  {:<12}  {:<30}  {:<22}  {}{}",
                    row.sequence,
                    at(egov_gateway::archive::format::from_micros(
                        row.logged_at_micros
                    )),
                    egov_gateway::archive::format::message_id(row),
                    kind_name(row.kind),
                    format!("{}→{} {}", row.sender, row.receiver, row.service),
                    row.verdict,
                    where_(&r.archive),
                    if r.matched_archive {
                        " (checked against the file)"
                    } else {
                        ""
                    }
                );
            }
            for a in &checked.anchors {
                if a.file.is_empty() {
                    println!(
                        "database: rows {} to {}, from {} to the chain head {}",
                        a.first_sequence,
                        a.last_sequence,
                        hex(&a.prev_hash),
                        hex(&a.last_hash)
                    );
                } else {
                    println!(
                        "{}: rows {} to {}, from {} to {}, file sha256 {}",
                        a.file,
                        a.first_sequence,
                        a.last_sequence,
                        hex(&a.prev_hash),
                        hex(&a.last_hash),
                        hex(&a.file_sha256)
                    );
                }
            }
            println!(
                "intact: {} rows, every row hash recomputed",
                checked.rows.len()
            );
        },
    );
    Ok(())
}

fn kind_name(kind: i32) -> &'static str {
    Kind::try_from(kind)
        .map(|k| k.as_str_name().trim_start_matches("KIND_"))
        .unwrap_or("?")
}

/// A refusal as the services word it: their message starts with the code.
pub fn refusal(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}", status.message())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
