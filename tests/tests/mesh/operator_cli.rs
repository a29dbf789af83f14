//! `egovctl` as operators' scripts use it (issue 13, point 4): every
//! command with `--json` prints one JSON document a script parses (proto
//! messages in their proto3 JSON mapping), a refusal exits 1 with
//! `{"error": {"code", …}}`; `egovctl status` shows every system's health,
//! inbox and dead letters; `egovctl dead-letters` lists, shows and requeues
//! a system's dead letters without losing any.

use crate::mesh::{Mesh, Options};
use egov_proto::portal::Stage;
use egov_trust::{SubjectSpec, SystemId};
use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use serde_json::Value;

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[tokio::test]
async fn every_egovctl_command_speaks_json_and_refusals_exit_1_with_their_code() {
    let mesh = Mesh::start(Options::default()).await;
    let citizen = mesh.citizen().await;
    let sent = mesh.apply(&citizen, "003").await;
    mesh.wait_cabinet(&citizen, &sent.reference, &[Stage::Issued])
        .await;
    let trace = mesh.settled_trace(&sent.reference).await;
    let pki = mesh.ca.root().display().to_string();

    // The whole mesh at a glance.
    let (ok, status) = mesh.egovctl_json(&["status"]).await;
    assert!(ok, "{status}");
    let systems = status["systems"].as_array().expect("systems");
    assert_eq!(systems.len(), 6, "{status}");
    for s in systems {
        assert_eq!(text(&s["health"]), "serving", "{s}");
        assert_eq!(s["dead_letters"], 0, "{s}");
        assert!(s["inbox"].is_u64(), "{s}");
    }
    assert_eq!(text(&status["broker"]), "reachable");

    // The gateway's record, as proto3 JSON.
    let (ok, traced) = mesh
        .egovctl_json(&["gateway", "trace", &sent.reference])
        .await;
    assert!(ok);
    let entries = traced["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), trace.len(), "{traced}");
    assert!(
        entries
            .iter()
            .any(|e| text(&e["service"]) == "submit-application")
    );
    let submission = &trace[0].message_id;
    let (ok, one) = mesh.egovctl_json(&["gateway", "status", submission]).await;
    assert!(ok);
    assert_eq!(text(&one["status"]), "DELIVERY_STATUS_PROCESSED", "{one}");
    let (ok, routes) = mesh.egovctl_json(&["gateway", "routes"]).await;
    assert!(ok && routes["routes"].as_array().is_some_and(|r| r.len() >= 10));
    let (ok, log) = mesh.egovctl_json(&["gateway", "verify-log"]).await;
    assert!(ok && log["intact"] == true, "{log}");

    // The log's archives and evidence (issue 13 point 5) as an operator
    // scripts them: archive what may leave (signed with the gateway's key
    // from the CA directory), verify the files offline with the CA
    // certificate alone, export the application's evidence and verify it;
    // a changed byte exits 1 with its code.
    let ca = mesh.ca.ca_certificate_path().display().to_string();
    let page = std::env::temp_dir().join(egov_testkit::unique_name("egov-trace-"));
    let page = page.display().to_string();
    let drawn = |label: &'static str| {
        let (mesh, page, reference) = (&mesh, page.clone(), sent.reference.clone());
        async move {
            let (ok, path) = mesh
                .egovctl_json(&["trace", &reference, "--out", &page])
                .await;
            assert!(ok, "{label}: {path}");
            path
        }
    };
    let path_before = drawn("before archiving").await;
    let (ok, archived) = mesh
        .egovctl_json(&["gateway", "archive", "--pki", &pki, "--until", "now"])
        .await;
    assert!(ok, "{archived}");
    let archive_dir = text(&archived["archiveDir"]).to_owned();
    assert!(!archive_dir.is_empty(), "{archived}");
    if let Some(files) = archived["files"].as_array() {
        let (ok, checked) = mesh
            .egovctl_json(&["gateway", "verify-archive", &archive_dir, "--ca", &ca])
            .await;
        assert!(ok && checked["intact"] == true, "{checked}");
        assert_eq!(checked["files"].as_array().map(Vec::len), Some(files.len()));
        // 64-bit numbers are strings in proto3 JSON, plain numbers here.
        assert_eq!(
            checked["last_sequence"].to_string(),
            text(&archived["anchorSequence"]),
            "{checked}"
        );
    }
    let (ok, log) = mesh.egovctl_json(&["gateway", "verify-log"]).await;
    assert!(ok && log["intact"] == true, "after archiving: {log}");
    // The application's page is drawn the same from its archived rows
    // (Trace reads their envelopes back from the files).
    let (ok, traced) = mesh
        .egovctl_json(&["gateway", "trace", &sent.reference])
        .await;
    assert!(ok, "{traced}");
    let archived_rows = traced["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| !text(&e["archive"]).is_empty())
        .count();
    assert!(
        archived_rows > 0,
        "the application's rows were archived: {traced}"
    );
    assert_eq!(drawn("after archiving").await, path_before);
    let _ = std::fs::remove_file(&page);
    let evidence = std::env::temp_dir().join(egov_testkit::unique_name("egov-evidence-"));
    let evidence = evidence.display().to_string();
    let (ok, exported) = mesh
        .egovctl_json(&[
            "gateway",
            "evidence",
            &sent.reference,
            "--pki",
            &pki,
            "--out",
            &evidence,
        ])
        .await;
    assert!(ok, "{exported}");
    assert_eq!(
        exported["rows"],
        serde_json::json!(trace.len()),
        "{exported}"
    );
    let (ok, verified) = mesh
        .egovctl_json(&[
            "gateway",
            "verify-evidence",
            &evidence,
            "--ca",
            &ca,
            "--archive",
            &archive_dir,
        ])
        .await;
    assert!(ok && verified["intact"] == true, "{verified}");
    assert_eq!(text(&verified["conversation_id"]), sent.reference);
    let mut bytes = std::fs::read(&evidence).expect("the evidence file");
    *bytes.last_mut().expect("not empty") ^= 0x01;
    std::fs::write(&evidence, &bytes).unwrap();
    let (ok, refused) = mesh
        .egovctl_json(&["gateway", "verify-evidence", &evidence, "--ca", &ca])
        .await;
    assert!(!ok);
    assert_eq!(
        text(&refused["error"]["code"]),
        "bad_signature",
        "{refused}"
    );
    let _ = std::fs::remove_file(&evidence);

    // A refusal: exit 1, the gateway's stable code.
    let (ok, refused) = mesh
        .egovctl_json(&["gateway", "status", "not-a-uuid"])
        .await;
    assert!(!ok);
    assert_eq!(
        text(&refused["error"]["code"]),
        "invalid_message_id",
        "{refused}"
    );

    // ЖТ МДБ through the gateway, as the intake.
    let (ok, person) = mesh
        .egovctl_json(&[
            "lookup",
            "--pki",
            &pki,
            "person",
            &citizen.person.iin,
            "--consent",
            "cli-1",
        ])
        .await;
    assert!(ok, "{person}");
    assert_eq!(text(&person["iin"]), citizen.person.iin);
    let (ok, refused) = mesh
        .egovctl_json(&[
            "lookup",
            "--pki",
            &pki,
            "person",
            "900101300001",
            "--consent",
            "x",
        ])
        .await;
    assert!(!ok);
    assert_eq!(text(&refused["error"]["code"]), "invalid_iin", "{refused}");

    // The registries' fault modes.
    let (ok, set) = mesh
        .egovctl_json(&["fault", "individuals", "slow", "5"])
        .await;
    assert!(ok, "{set}");
    assert_eq!(
        text(&set["state"]["mode"]["kind"]),
        "FAULT_KIND_SLOW",
        "{set}"
    );
    let (ok, faults) = mesh.egovctl_json(&["fault", "status"]).await;
    assert!(
        ok && faults["registries"]
            .as_array()
            .is_some_and(|r| r.len() == 2)
    );
    let (ok, _) = mesh.egovctl_json(&["fault", "individuals", "none"]).await;
    assert!(ok);

    // The regulations and the calendar.
    let (ok, all) = mesh.egovctl_json(&["regulations", "list"]).await;
    assert!(ok && all.as_array().is_some_and(|r| r.len() == 15));
    let (ok, plan) = mesh
        .egovctl_json(&[
            "deadline",
            "003",
            "--channel",
            "portal",
            "--at",
            "2026-11-23 10:00",
        ])
        .await;
    assert!(ok && plan.is_object(), "{plan}");

    // The CA.
    let (certificate, _) = mesh.ca.paths_for(&SubjectSpec::System(SystemId::Portal));
    let (ok, shown) = mesh
        .egovctl_json(&[
            "pki",
            "--dir",
            &pki,
            "show",
            &certificate.display().to_string(),
        ])
        .await;
    assert!(ok && text(&shown["subject"]).contains("portal"), "{shown}");

    // The counter, as an operator.
    let session = mesh.dir().join("intake.session");
    let session = session.display().to_string();
    let (ok, login) = mesh
        .egovctl_json(&[
            "intake",
            "--session",
            &session,
            "login",
            "operator",
            "--password",
            &egov_harness::password("operator"),
        ])
        .await;
    assert!(ok && text(&login["login"]) == "operator", "{login}");
    let (ok, services) = mesh
        .egovctl_json(&["intake", "--session", &session, "services"])
        .await;
    assert!(
        ok && services["services"]
            .as_array()
            .is_some_and(|s| s.len() == 8)
    );
}

/// A message the workstation cannot decode is dead-lettered; `egovctl
/// dead-letters` lists it with the reason (without taking it away), shows
/// it, and requeues it into the inbox — where it fails again and is back
/// among the dead letters, once.
#[tokio::test]
async fn dead_letters_are_listed_shown_and_requeued_without_loss() {
    let mesh = Mesh::start(Options::default()).await;
    let id = uuid::Uuid::now_v7().to_string();
    let connection = lapin::Connection::connect(
        &egov_testkit::amqp_url(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("the broker");
    let channel = connection.create_channel().await.expect("a channel");
    let inbox = format!("{}.inbox.workstation", mesh.namespace());
    channel
        .basic_publish(
            "".into(),
            inbox.as_str().into(),
            BasicPublishOptions::default(),
            b"not an envelope",
            BasicProperties::default().with_message_id(id.clone().into()),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    let args = ["dead-letters", "--system", "workstation", "list"];
    let listed = egov_testkit::wait::until(crate::mesh::PATIENCE, "a dead letter", || async {
        let (ok, listed) = mesh.egovctl_json(&args).await;
        match listed["dead_letters"].as_array() {
            Some(all) if ok && all.len() == 1 => Ok(listed),
            _ => Err(listed.to_string()),
        }
    })
    .await;
    let letter = &listed["dead_letters"][0];
    assert_eq!(text(&letter["message_id"]), id);
    assert!(!text(&letter["reason"]).is_empty(), "{letter}");
    // Listing took nothing away.
    let (ok, again) = mesh.egovctl_json(&args).await;
    assert!(
        ok && again["dead_letters"]
            .as_array()
            .is_some_and(|a| a.len() == 1)
    );
    let (ok, shown) = mesh
        .egovctl_json(&["dead-letters", "--system", "workstation", "show", &id])
        .await;
    assert!(ok && text(&shown["message_id"]) == id, "{shown}");

    let (ok, moved) = mesh
        .egovctl_json(&["dead-letters", "--system", "workstation", "requeue", &id])
        .await;
    assert!(ok, "{moved}");
    assert_eq!(text(&moved["to"]), inbox);
    // Undecodable still: back among the dead letters, once, with a fresh
    // attempt count.
    egov_testkit::wait::until(crate::mesh::PATIENCE, "dead-lettered again", || async {
        let (_, listed) = mesh.egovctl_json(&args).await;
        let all = listed["dead_letters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if all.len() == 1 && all[0]["attempts"] == 1 {
            Ok(())
        } else {
            Err(listed.to_string())
        }
    })
    .await;
    let (ok, refused) = mesh
        .egovctl_json(&["dead-letters", "--system", "gateway", "requeue", &id])
        .await;
    assert!(!ok);
    assert_eq!(text(&refused["error"]["code"]), "not_requeueable");
}
