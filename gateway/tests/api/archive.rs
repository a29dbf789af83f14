//! Message log archives and evidence (issue 13 point 5): rows leave the
//! database for signed files that continue the hash chain; the files and a
//! conversation's evidence verify offline with only the CA certificate
//! (`egov_gateway::archive::offline`, what `egovctl gateway verify-archive`
//! and `verify-evidence` run) and with `openssl cms -verify`; VerifyLog goes
//! on from the last archive; duplicates and answers still find archived
//! messages.

use crate::helpers::*;
use chrono::Utc;
use egov_bus::{Outgoing, envelope};
use egov_gateway::archive::offline::{self, CheckCode};
use egov_proto::envelope::{DeliveryStatus, Envelope, Kind};
use egov_proto::gateway::{
    ArchiveLogRequest, ArchiveLogResponse, ExportEvidenceRequest, LogArchive, LogEvidence,
    TraceRequest, VerifyLogRequest, VerifyLogResponse,
};
use egov_proto::prost::Message;
use egov_trust::SystemId;
use std::path::{Path, PathBuf};
use tonic_types::StatusExt;

/// A directory for one test's archives, removed at the end.
struct ArchiveDir(PathBuf);

impl ArchiveDir {
    fn new() -> ArchiveDir {
        ArchiveDir(std::env::temp_dir().join(egov_testkit::unique_name("egov-archive-")))
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary path")
    }

    /// The archive files in it, in chain order, with their bytes.
    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.0)
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(egov_gateway::archive::format::parse_file_name)
                .is_some()
        });
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read an archive file");
                (p.display().to_string(), bytes)
            })
            .collect()
    }
}

impl Drop for ArchiveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn gateway_archiving_into(dir: &ArchiveDir, extra: &[(&str, &str)]) -> TestGateway {
    let mut overrides = vec![("EGOV__GATEWAY__ARCHIVE_DIR", dir.path())];
    overrides.extend_from_slice(extra);
    spawn_gateway_with(&overrides).await
}

/// An operator's credential: signed as `system` (the gateway, or not).
fn credential(gw: &TestGateway, system: SystemId) -> Envelope {
    let message = Outgoing::raw(
        SystemId::Gateway,
        egov_gateway::receive::OPERATE_SERVICE,
        Kind::Request,
        Vec::new(),
    );
    let header = message.header(system, Utc::now(), "");
    envelope::seal(&gw.mesh.pki.identity(system), header, Vec::new())
}

async fn archive(gw: &TestGateway) -> ArchiveLogResponse {
    gw.client
        .clone()
        .archive_log(ArchiveLogRequest {
            credential: Some(credential(gw, SystemId::Gateway)),
            until: Some(envelope::timestamp(Utc::now())),
        })
        .await
        .expect("ArchiveLog")
        .into_inner()
}

async fn verify_log(gw: &TestGateway) -> VerifyLogResponse {
    gw.client
        .clone()
        .verify_log(VerifyLogRequest {
            credential: Some(gw.mesh.operator_read()),
            ..Default::default()
        })
        .await
        .expect("VerifyLog")
        .into_inner()
}

fn reason(error: &tonic::Status) -> String {
    error
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_else(|| panic!("no ErrorInfo on {error:?}"))
}

/// `openssl cms -verify -inform DER -CAfile <ca.pem> -in <file>`, exactly
/// as an auditor would type it; its stdout is the signed content.
fn openssl_verify(ca_pem: &Path, file: &[u8]) -> std::process::Output {
    let path = std::env::temp_dir().join(egov_testkit::unique_name("egov-openssl-"));
    std::fs::write(&path, file).unwrap();
    let output = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-CAfile"])
        .arg(ca_pem)
        .arg("-in")
        .arg(&path)
        .output()
        .expect("openssl is installed: the outside check of the files");
    let _ = std::fs::remove_file(&path);
    output
}

/// Sends `count` applications from the portal, each in its own
/// conversation `<prefix>-<i>`, and waits until each is processed.
async fn send_processed(
    gw: &TestGateway,
    portal: &egov_bus::Bus,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let mut statuses = portal.statuses();
    let mut ids = Vec::new();
    for i in 0..count {
        let id = portal
            .send(application(&format!("{prefix}-{i}")))
            .await
            .unwrap();
        wait_status(&mut statuses, &id, DeliveryStatus::Processed).await;
        ids.push(id);
    }
    settled_statuses(&gw.mesh.pool("gateway").await, &ids).await;
    ids
}

#[tokio::test]
async fn archives_verify_offline_and_with_openssl_and_verify_log_goes_on_from_the_last_one() {
    let dir = ArchiveDir::new();
    // Three rows a file, so one call writes several files that must chain.
    let gw = gateway_archiving_into(&dir, &[("EGOV__GATEWAY__ARCHIVE_MAX_ROWS", "3")]).await;
    let (_workstation, _) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let first = send_processed(&gw, &portal, "arch", 4).await;
    let before = verify_log(&gw).await;
    assert!(before.intact, "{}", before.problem);
    assert_eq!(before.anchor_sequence, 0);

    let archived = archive(&gw).await;
    assert!(archived.held_by_message.is_empty(), "{archived:?}");
    assert!(archived.files.len() >= 2, "{archived:?}");
    assert_eq!(archived.files[0].first_sequence, 1);
    let last = archived.files.last().unwrap();
    assert_eq!(archived.anchor_sequence, last.last_sequence);
    assert_eq!(archived.anchor_hash, last.last_hash);
    assert!(
        archived.anchor_sequence >= first.len() as u64 * 2,
        "messages and receipts"
    );

    // Offline, with only the CA certificate: every file, and the chain.
    let ca = gw.mesh.pki.ca.certificate_der().to_vec();
    let files = dir.files();
    assert_eq!(files.len(), archived.files.len());
    let checked = offline::verify_archives(&files, &ca).expect("the archives verify");
    assert_eq!(checked.first_sequence, 1);
    assert_eq!(checked.prev_hash, vec![0; 32]);
    assert_eq!(checked.last_sequence, archived.anchor_sequence);
    assert_eq!(checked.last_hash, archived.anchor_hash.to_vec());
    assert_eq!(checked.files[0].signer.subject, "system gateway");
    for (file, (_, bytes)) in archived.files.iter().zip(&files) {
        assert_eq!(file.sha256.as_ref(), egov_trust::sha256(bytes));
    }
    // And with openssl, as typed: the content printed is the archive.
    let ca_pem = gw.mesh.pki.ca_certificate_path();
    let output = openssl_verify(&ca_pem, &files[0].1);
    assert!(
        output.status.success(),
        "openssl refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = LogArchive::decode(output.stdout.as_slice()).expect("the content is an archive");
    assert_eq!(printed.first_sequence, 1);
    assert_eq!(printed.rows.len() as u64, archived.files[0].rows);

    // VerifyLog checks what is left, from the last archive's hash.
    let after = verify_log(&gw).await;
    assert!(after.intact, "{}", after.problem);
    assert_eq!(after.anchor_sequence, archived.anchor_sequence);
    assert_eq!(after.anchor_hash, archived.anchor_hash);
    assert_eq!(
        after.rows_checked,
        after.head_sequence - after.anchor_sequence,
        "every row left in the database is checked"
    );
    let pool = gw.mesh.pool("gateway").await;
    let (left_below,): (i64,) = sqlx::query_as("SELECT count(*) FROM message_log WHERE seq <= $1")
        .bind(archived.anchor_sequence as i64)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left_below, 0, "the archived rows left the database");
    // A range among archived rows is refused with its code.
    let error = gw
        .client
        .clone()
        .verify_log(VerifyLogRequest {
            from_sequence: 1,
            to_sequence: 1,
            credential: Some(gw.mesh.operator_read()),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "range_archived");

    // Trace and GetStatus still know the archived messages.
    let trace = gw
        .client
        .clone()
        .trace(TraceRequest {
            conversation_id: "arch-0".into(),
            include_envelopes: true,
            credential: Some(gw.mesh.operator_read()),
        })
        .await
        .unwrap()
        .into_inner();
    let submission = trace
        .entries
        .iter()
        .find(|e| e.message_id == first[0])
        .expect("the archived submission is traced");
    assert_eq!(submission.status, DeliveryStatus::Processed as i32);
    assert!(
        submission.archive.starts_with("message-log-"),
        "{submission:?}"
    );
    // Its envelope, asked for, comes from the archive file.
    let logged = Envelope::decode(submission.envelope.as_ref()).expect("the envelope");
    assert_eq!(
        envelope::open_envelope(logged).unwrap().header.message_id,
        first[0]
    );
    assert_eq!(
        gw.status(&first[0]).await.status,
        DeliveryStatus::Processed as i32
    );

    // The chain goes on: more messages, VerifyLog intact, a second run's
    // files continue the first's.
    send_processed(&gw, &portal, "arch-more", 2).await;
    let again = verify_log(&gw).await;
    assert!(again.intact, "{}", again.problem);
    // The trigger still refuses every other change: an update, a delete,
    // and a delete that says it archives but of a row no archive holds.
    let refused =
        sqlx::query("DELETE FROM message_log WHERE seq = (SELECT max(seq) FROM message_log)")
            .execute(&pool)
            .await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL egov.archiving = 'on'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let refused =
        sqlx::query("DELETE FROM message_log WHERE seq = (SELECT max(seq) FROM message_log)")
            .execute(&mut *tx)
            .await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    drop(tx);
    let refused = sqlx::query("UPDATE archived_log SET receiver = 'notary'")
        .execute(&pool)
        .await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    let second = archive(&gw).await;
    assert!(!second.files.is_empty());
    assert_eq!(second.files[0].first_sequence, archived.anchor_sequence + 1);
    assert_eq!(second.files[0].prev_hash, archived.anchor_hash);
    let all = offline::verify_archives(&dir.files(), &ca).expect("all archives chain");
    assert_eq!(all.last_sequence, second.anchor_sequence);
    assert!(verify_log(&gw).await.intact);

    let refused = sqlx::query("DELETE FROM log_archives").execute(&pool).await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    gw.stop().await;
}

#[tokio::test]
async fn a_changed_byte_anywhere_in_an_archive_is_found_naming_the_row_or_the_signature() {
    let dir = ArchiveDir::new();
    let gw = gateway_archiving_into(&dir, &[("EGOV__GATEWAY__ARCHIVE_MAX_ROWS", "2")]).await;
    let (_workstation, _) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    send_processed(&gw, &portal, "bytes", 2).await;
    archive(&gw).await;
    let ca = gw.mesh.pki.ca.certificate_der().to_vec();
    let files = dir.files();
    assert!(files.len() >= 2, "{} files", files.len());
    let (name, bytes) = files[0].clone();
    let original = offline::verify_archive(&name, &bytes, &ca).expect("untouched, it verifies");

    // A byte of the second row's envelope: that row is named.
    let row = &original.archive.rows[1];
    let at = bytes
        .windows(row.envelope.len())
        .position(|w| w == row.envelope.as_ref())
        .expect("the envelope is in the file");
    let mut changed = bytes.clone();
    changed[at + row.envelope.len() / 2] ^= 0x20;
    let problem = offline::verify_archive(&name, &changed, &ca).unwrap_err();
    assert_eq!(problem.code, CheckCode::RowChanged, "{problem}");
    assert_eq!(problem.row, Some(row.sequence));
    let words = problem.to_string();
    assert!(
        words.starts_with(&format!("row_changed: {name}: row {}: ", row.sequence)),
        "{words}"
    );
    assert!(words.contains("signature no longer covers"), "{words}");
    // openssl finds it too.
    let ca_pem = gw.mesh.pki.ca_certificate_path();
    assert!(!openssl_verify(&ca_pem, &changed).status.success());

    // The last byte is the signature's.
    let mut changed = bytes.clone();
    *changed.last_mut().unwrap() ^= 0x01;
    let problem = offline::verify_archive(&name, &changed, &ca).unwrap_err();
    assert_eq!(problem.code, CheckCode::BadSignature, "{problem}");
    assert!(problem.to_string().contains("signature"), "{problem}");

    // Any byte at all.
    let ca_for_all = ca.clone();
    let (name_all, bytes_all) = (name.clone(), bytes.clone());
    let missed = tokio::task::spawn_blocking(move || {
        (0..bytes_all.len())
            .filter(|&at| {
                let mut changed = bytes_all.clone();
                changed[at] ^= 0x01;
                offline::verify_archive(&name_all, &changed, &ca_for_all).is_ok()
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(missed.is_empty(), "bytes changed and not found: {missed:?}");

    // Files that do not continue each other: the middle one left out.
    if files.len() >= 3 {
        let gap = vec![files[0].clone(), files[2].clone()];
        let problem = offline::verify_archives(&gap, &ca).unwrap_err();
        assert_eq!(problem.code, CheckCode::ArchivesNotChained, "{problem}");
    }
    // Another CA's certificate does not vouch for the gateway's.
    let rogue = egov_trust::CertificateAuthority::create(
        "egov-mesh test CA",
        Utc::now(),
        chrono::Duration::days(1),
    )
    .unwrap();
    let problem = offline::verify_archive(&name, &bytes, rogue.certificate_der()).unwrap_err();
    assert_eq!(problem.code, CheckCode::UntrustedCertificate, "{problem}");
    gw.stop().await;
}

#[tokio::test]
async fn evidence_of_a_conversation_verifies_offline_and_a_tampered_one_does_not() {
    let dir = ArchiveDir::new();
    let gw = gateway_archiving_into(&dir, &[]).await;
    let (workstation, _) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let mut statuses = portal.statuses();
    // The submission, archived...
    let submitted = portal.send(application("case-ev")).await.unwrap();
    wait_status(&mut statuses, &submitted, DeliveryStatus::Processed).await;
    settled_statuses(
        &gw.mesh.pool("gateway").await,
        std::slice::from_ref(&submitted),
    )
    .await;
    let archived = archive(&gw).await;
    assert!(!archived.files.is_empty());
    // ...then the provider's status, still in the database.
    let mut workstation_statuses = workstation.statuses();
    let status = workstation
        .send(
            Outgoing::raw(
                SystemId::Portal,
                "application-status",
                Kind::Notification,
                b"registered".to_vec(),
            )
            .conversation("case-ev"),
        )
        .await
        .unwrap();
    wait_status(
        &mut workstation_statuses,
        &status,
        DeliveryStatus::Processed,
    )
    .await;

    let exported = gw
        .client
        .clone()
        .export_evidence(ExportEvidenceRequest {
            credential: Some(credential(&gw, SystemId::Gateway)),
            conversation_id: "case-ev".into(),
        })
        .await
        .expect("ExportEvidence")
        .into_inner();
    assert_eq!(exported.rows, 2, "{exported:?}");
    assert_eq!(exported.archived_rows, 1);
    let bytes = exported.evidence.to_vec();

    let ca = gw.mesh.pki.ca.certificate_der().to_vec();
    let checked = offline::verify_evidence("case-ev.p7m", &bytes, &ca, &[]).expect("it verifies");
    assert_eq!(checked.conversation_id, "case-ev");
    let ids: Vec<String> = checked
        .rows
        .iter()
        .map(|r| egov_gateway::archive::format::message_id(&r.row))
        .collect();
    assert_eq!(ids, vec![submitted.clone(), status.clone()]);
    assert!(checked.rows[0].archive.starts_with("message-log-"));
    assert!(
        checked.rows[1].archive.is_empty(),
        "the status is in the database"
    );
    assert!(!checked.rows[0].matched_archive);
    // The envelopes are the senders' own, signed.
    let sent = Envelope::decode(checked.rows[0].row.envelope.as_ref()).unwrap();
    let opened = envelope::open_envelope(sent).unwrap();
    assert_eq!(opened.header.message_id, submitted);
    assert_eq!(opened.payload.as_ref(), b"application form");
    // Against the archive files: the archived row is the file's own.
    let with_archives = offline::verify_evidence("case-ev.p7m", &bytes, &ca, &dir.files())
        .expect("it verifies against its archive");
    assert!(with_archives.rows[0].matched_archive);
    // openssl accepts it, and prints the evidence.
    let output = openssl_verify(&gw.mesh.pki.ca_certificate_path(), &bytes);
    assert!(
        output.status.success(),
        "openssl refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = LogEvidence::decode(output.stdout.as_slice()).unwrap();
    assert_eq!(printed.rows.len(), 2);

    // Tampered: a byte of the submission's envelope (its row named), the
    // signature, and the same content signed by another system.
    let envelope_bytes = checked.rows[0].row.envelope.clone();
    let at = bytes
        .windows(envelope_bytes.len())
        .position(|w| w == envelope_bytes.as_ref())
        .unwrap();
    let mut changed = bytes.clone();
    changed[at + envelope_bytes.len() - 3] ^= 0x01;
    let problem = offline::verify_evidence("case-ev.p7m", &changed, &ca, &[]).unwrap_err();
    assert_eq!(problem.code, CheckCode::RowChanged, "{problem}");
    assert_eq!(problem.row, Some(checked.rows[0].row.sequence));
    let mut changed = bytes.clone();
    *changed.last_mut().unwrap() ^= 0x01;
    let problem = offline::verify_evidence("case-ev.p7m", &changed, &ca, &[]).unwrap_err();
    assert_eq!(problem.code, CheckCode::BadSignature, "{problem}");
    let content = egov_trust::cms::attached_content_unchecked(&bytes).unwrap();
    let portal_key = gw.mesh.pki.identity(SystemId::Portal);
    let forged = egov_trust::cms::sign(
        &content,
        &portal_key.key,
        &portal_key.certificate_der,
        egov_trust::cms::Encapsulation::Attached,
        Utc::now(),
    )
    .unwrap();
    let problem = offline::verify_evidence("case-ev.p7m", &forged, &ca, &[]).unwrap_err();
    assert_eq!(problem.code, CheckCode::NotTheGateway, "{problem}");
    // A row moved to another row's place in the chain.
    let mut evidence = LogEvidence::decode(content.as_slice()).unwrap();
    evidence.rows[0].row.as_mut().unwrap().sequence += 1;
    let forged = egov_trust::cms::sign(
        &evidence.encode_to_vec(),
        &gw.mesh.pki.identity(SystemId::Gateway).key,
        &gw.mesh.pki.identity(SystemId::Gateway).certificate_der,
        egov_trust::cms::Encapsulation::Attached,
        Utc::now(),
    )
    .unwrap();
    let problem = offline::verify_evidence("case-ev.p7m", &forged, &ca, &[]).unwrap_err();
    assert_eq!(problem.code, CheckCode::RowChanged, "{problem}");

    // Only the gateway's operator exports; a conversation must exist.
    let error = gw
        .client
        .clone()
        .export_evidence(ExportEvidenceRequest {
            credential: Some(credential(&gw, SystemId::Portal)),
            conversation_id: "case-ev".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "credential_refused");
    let error = gw
        .client
        .clone()
        .export_evidence(ExportEvidenceRequest {
            credential: Some(credential(&gw, SystemId::Gateway)),
            conversation_id: "no-such-case".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "unknown_conversation");
    // An archive file gone from the directory is said so.
    for (path, _) in dir.files() {
        std::fs::remove_file(path).unwrap();
    }
    let error = gw
        .client
        .clone()
        .export_evidence(ExportEvidenceRequest {
            credential: Some(credential(&gw, SystemId::Gateway)),
            conversation_id: "case-ev".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "archive_missing");
    gw.stop().await;
}

#[tokio::test]
async fn a_duplicate_of_an_archived_message_is_refused_and_an_answer_to_an_archived_request_routes()
{
    let dir = ArchiveDir::new();
    let gw = gateway_archiving_into(&dir, &[]).await;
    let (_workstation, _) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let (intake, intake_inbox) = gw.recording(SystemId::Intake).await;
    let (individuals, _) = gw.recording(SystemId::Individuals).await;
    let mut portal_statuses = portal.statuses();
    let mut intake_statuses = intake.statuses();

    let sealed = portal.seal(&application("dup-archived"), "");
    let id = envelope::open_envelope(sealed.clone())
        .unwrap()
        .header
        .message_id;
    portal.publish(&sealed).await.unwrap();
    wait_status(&mut portal_statuses, &id, DeliveryStatus::Processed).await;
    // A look-up the registry took (processed) and answers later.
    let request = intake.seal(&lookup(), "");
    let request_id = envelope::open_envelope(request.clone())
        .unwrap()
        .header
        .message_id;
    intake.publish(&request).await.unwrap();
    wait_status(&mut intake_statuses, &request_id, DeliveryStatus::Processed).await;
    settled_statuses(
        &gw.mesh.pool("gateway").await,
        &[id.clone(), request_id.clone()],
    )
    .await;

    let archived = archive(&gw).await;
    let pool = gw.mesh.pool("gateway").await;
    let (in_log,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM message_log WHERE message_id = ANY($1::uuid[])")
            .bind(vec![id.clone(), request_id.clone()])
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(in_log, 0, "both left the database: {archived:?}");

    // The same message again: refused, as before archiving.
    portal.publish(&sealed).await.unwrap();
    let report = wait_status(&mut portal_statuses, &id, DeliveryStatus::Rejected).await;
    assert_eq!(report.code, "duplicate_message_id", "{}", report.detail);
    assert_eq!(
        gw.status(&id).await.status,
        DeliveryStatus::Processed as i32
    );

    // The registry's answer to the archived request reaches intake.
    let mut answer = Outgoing::raw(
        SystemId::Intake,
        "person-by-iin",
        Kind::Response,
        b"person record".to_vec(),
    );
    answer.correlation_id = request_id.clone();
    answer.request_hash = egov_trust::sha256(&request.signed).to_vec();
    individuals
        .send(answer)
        .await
        .expect("the answer is accepted");
    let got = intake_inbox.next().await;
    assert_eq!(got.sender(), Some(SystemId::Individuals));
    assert_eq!(got.opened.payload.as_ref(), b"person record");
    assert!(verify_log(&gw).await.intact);
    gw.stop().await;
}

#[tokio::test]
async fn a_message_not_yet_final_keeps_its_row_and_every_later_one() {
    let dir = ArchiveDir::new();
    let gw = gateway_archiving_into(&dir, &[]).await;
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let held_back = Recorder::gated(gw.mesh.pool("workstation").await, gate.clone()).await;
    let _workstation = gw.system(SystemId::Workstation, held_back.clone()).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let (intake, _) = gw.recording(SystemId::Intake).await;
    let (_individuals, _) = gw.recording(SystemId::Individuals).await;
    let mut intake_statuses = intake.statuses();
    let before = intake.send(lookup()).await.unwrap();
    wait_status(&mut intake_statuses, &before, DeliveryStatus::Processed).await;
    // The workstation holds this one in its handler: not final.
    let waiting = portal.send(application("held")).await.unwrap();
    held_back.next().await;
    let after = intake.send(lookup()).await.unwrap();
    wait_status(&mut intake_statuses, &after, DeliveryStatus::Processed).await;
    settled_statuses(
        &gw.mesh.pool("gateway").await,
        &[before.clone(), after.clone()],
    )
    .await;

    let archived = archive(&gw).await;
    assert_eq!(archived.held_by_message, waiting, "{archived:?}");
    assert!(archived.held_at_sequence > 0);
    assert_eq!(archived.anchor_sequence, archived.held_at_sequence - 1);
    let pool = gw.mesh.pool("gateway").await;
    let logged = |id: String| {
        let pool = pool.clone();
        async move {
            let (n,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM message_log WHERE message_id = $1::uuid")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            n
        }
    };
    assert_eq!(logged(before.clone()).await, 0, "the earlier message left");
    assert_eq!(logged(waiting.clone()).await, 1, "the waiting one stays");
    assert_eq!(
        logged(after.clone()).await,
        1,
        "and so does every later row"
    );
    assert!(verify_log(&gw).await.intact);

    // Once it is processed, it and the rows after it may go.
    let mut portal_statuses = portal.statuses();
    gate.add_permits(1);
    wait_status(&mut portal_statuses, &waiting, DeliveryStatus::Processed).await;
    settled_statuses(&pool, std::slice::from_ref(&waiting)).await;
    let archived = archive(&gw).await;
    assert!(archived.held_by_message.is_empty(), "{archived:?}");
    assert_eq!(logged(waiting).await, 0);
    assert_eq!(logged(after).await, 0);
    let ca = gw.mesh.pki.ca.certificate_der().to_vec();
    offline::verify_archives(&dir.files(), &ca).expect("the archives chain");
    gw.stop().await;
}

#[tokio::test]
async fn the_retention_task_archives_rows_older_than_gateway_log_retention() {
    let dir = ArchiveDir::new();
    let gw = gateway_archiving_into(
        &dir,
        &[
            ("EGOV__GATEWAY__LOG_RETENTION", "1ms"),
            ("EGOV__GATEWAY__ARCHIVE_EVERY", "100ms"),
        ],
    )
    .await;
    let (_workstation, _) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    let ids = send_processed(&gw, &portal, "retained", 2).await;
    let pool = gw.mesh.pool("gateway").await;
    let (seq,): (i64,) =
        sqlx::query_as("SELECT log_seq FROM message_status WHERE message_id = $1::uuid")
            .bind(&ids[1])
            .fetch_one(&pool)
            .await
            .unwrap();
    let report =
        egov_testkit::wait::until(PATIENCE, "the retention task archives the rows", || async {
            let report = verify_log(&gw).await;
            if report.anchor_sequence >= seq as u64 {
                Ok(report)
            } else {
                Err(format!("anchor at row {}", report.anchor_sequence))
            }
        })
        .await;
    assert!(report.intact, "{}", report.problem);
    let ca = gw.mesh.pki.ca.certificate_der().to_vec();
    let files = dir.files();
    let checked = offline::verify_archives(&files, &ca).expect("the archives verify");
    assert!(checked.last_sequence >= seq as u64);
    gw.stop().await;
}

#[tokio::test]
async fn archiving_refuses_with_its_codes_and_never_signs_a_changed_row() {
    // No archive directory: archive_not_configured.
    let gw = spawn_gateway().await;
    let error = gw
        .client
        .clone()
        .archive_log(ArchiveLogRequest {
            credential: Some(credential(&gw, SystemId::Gateway)),
            until: Some(envelope::timestamp(Utc::now())),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&error), "archive_not_configured");
    gw.stop().await;

    let dir = ArchiveDir::new();
    let gw = gateway_archiving_into(&dir, &[]).await;
    let mut client = gw.client.clone();
    let error = client
        .archive_log(ArchiveLogRequest {
            credential: Some(credential(&gw, SystemId::Gateway)),
            until: None,
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "missing_until");
    for system in [SystemId::Portal, SystemId::Workstation] {
        let error = client
            .archive_log(ArchiveLogRequest {
                credential: Some(credential(&gw, system)),
                until: Some(envelope::timestamp(Utc::now())),
            })
            .await
            .unwrap_err();
        assert_eq!(reason(&error), "credential_refused", "{error:?}");
    }
    let error = client
        .archive_log(ArchiveLogRequest {
            credential: None,
            until: Some(envelope::timestamp(Utc::now())),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&error), "credential_refused");

    // A row changed behind the gateway's back is not laundered into a
    // freshly signed archive: log_broken, nothing archived.
    let (_workstation, _) = gw.recording(SystemId::Workstation).await;
    let (portal, _) = gw.recording(SystemId::Portal).await;
    send_processed(&gw, &portal, "broken", 2).await;
    let pool = gw.mesh.pool("gateway").await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE message_log SET receiver = 'notary' WHERE seq = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let error = client
        .archive_log(ArchiveLogRequest {
            credential: Some(credential(&gw, SystemId::Gateway)),
            until: Some(envelope::timestamp(Utc::now())),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::DataLoss);
    assert_eq!(reason(&error), "log_broken");
    assert!(error.message().contains("row 2"), "{}", error.message());
    assert!(dir.files().is_empty(), "no archive file was written");
    let (archives,): (i64,) = sqlx::query_as("SELECT count(*) FROM log_archives")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(archives, 0);
    gw.stop().await;
}

/// The README's table of what the offline checks find is the code's.
#[test]
fn the_readmes_table_of_offline_findings_lists_exactly_the_codes() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("### What verify-archive and verify-evidence find")
        .expect("the section");
    let section = &readme[start..];
    let end = section[4..].find("\n#").map_or(section.len(), |i| i + 4);
    let mut documented: Vec<&str> = section[..end]
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("| `")?
                .split_once('`')
                .map(|(code, _)| code)
        })
        .collect();
    documented.sort();
    let mut actual: Vec<&str> = CheckCode::ALL.iter().map(|c| c.as_str()).collect();
    actual.sort();
    assert_eq!(documented, actual);
}
