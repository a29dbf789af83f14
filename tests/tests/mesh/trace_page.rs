//! `egovctl trace <conversation>` (issue 13 point 4): one application's path
//! through its diagram as a page for a browser — lanes per system, the
//! elements passed with their times, each staff step against its budget —
//! rendered in headless Chromium (Debian's `chromium`), whose verdict on the
//! laid-out drawing the test reads back from the DOM.

use crate::mesh::{Mesh, Options, PATIENCE};
use egov_proto::portal::Stage;
use std::collections::BTreeSet;

#[tokio::test]
async fn egovctl_trace_draws_the_applications_path_and_chromium_renders_it() {
    let mesh = Mesh::start(Options::default()).await;
    let citizen = mesh.citizen().await;
    let sent = mesh.apply(&citizen, "003").await;
    mesh.wait_cabinet(&citizen, &sent.reference, &[Stage::Issued])
        .await;
    mesh.settled_trace(&sent.reference).await;
    let page = mesh.dir().join("trace.html");
    let page_arg = page.display().to_string();

    let (ok, path) = mesh
        .egovctl_json(&["trace", &sent.reference, "--out", &page_arg])
        .await;
    assert!(ok, "{path}");
    assert_eq!(path["outcome"], "issued", "{path}");
    assert_eq!(path["regulation"], "003");
    assert_eq!(path["diagram"], 2, "the portal's diagram");
    assert_eq!(path["branch"], "through");
    assert_eq!(
        path["lanes"],
        serde_json::json!(["portal", "workstation"]),
        "{path}"
    );

    // Passed: exactly the diagram's main path, as the regulation data has it.
    let regulations = egov_regulations::Registry::embedded().expect("the regulation data");
    let diagram = regulations
        .get("003")
        .and_then(|r| r.diagrams.iter().find(|d| d.number == 2))
        .expect("003 diagram 2");
    let expected: BTreeSet<String> = diagram
        .walk(egov_regulations::Branch::Through)
        .expect("the main path")
        .iter()
        .map(|e| e.id())
        .collect();
    let elements = path["elements"].as_array().expect("elements");
    let passed: BTreeSet<String> = elements
        .iter()
        .filter(|e| e["state"] == "passed")
        .map(|e| e["element"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(passed, expected, "{path}");
    // The elements that send were seen at the gateway, in the diagram's order.
    let sent_at: Vec<&str> = elements
        .iter()
        .filter(|e| e["state"] == "passed")
        .filter_map(|e| e["at"].as_str())
        .collect();
    assert!(
        !sent_at.is_empty(),
        "no element of the path seen at the gateway: {path}"
    );
    assert!(sent_at.windows(2).all(|w| w[0] <= w[1]), "{sent_at:?}");

    // Every staff step of 003 done (the autopilot), timed against its budget.
    let steps = path["steps"].as_array().expect("steps");
    let regulation_steps = regulations.get("003").expect("003").steps.len();
    assert_eq!(steps.len(), regulation_steps, "{path}");
    for step in steps {
        assert!(step["done"].is_string(), "step not done: {step}");
        assert!(
            step["within_budget"].is_boolean(),
            "no budget verdict: {step}"
        );
    }
    assert!(path["result_at"].is_string(), "{path}");

    // Kept for people to look at: target/tmp/trace-003-portal.html.
    let keep = crate::process::binary_dir().join("../tmp");
    let _ = std::fs::create_dir_all(&keep);
    let _ = std::fs::copy(&page, keep.join("trace-003-portal.html"));

    // The page, as a browser lays it out.
    let dom = chromium_dom(&mesh, &page).await;
    let layout = attribute(&dom, "data-layout").unwrap_or_default();
    assert_eq!(layout, "ok", "the drawing as laid out by Chromium");
    assert_eq!(
        attribute(&dom, "data-elements").and_then(|n| n.parse::<usize>().ok()),
        Some(diagram.elements.len()),
        "one box per element of the diagram"
    );
    assert_eq!(
        dom.matches("data-state=\"passed\"").count(),
        expected.len(),
        "the passed boxes"
    );
    for lane in ["data-system=\"portal\"", "data-system=\"workstation\""] {
        assert!(dom.contains(lane), "lane {lane} drawn");
    }
    assert_eq!(
        dom.matches("<tr data-step=").count(),
        regulation_steps,
        "a row per staff step"
    );

    // A conversation the gateway never saw: a refusal with its code.
    let (ok, error) = mesh
        .egovctl_json(&["trace", "no-such-conversation", "--out", &page_arg])
        .await;
    assert!(!ok);
    assert_eq!(error["error"]["code"], "unknown_conversation", "{error}");
}

/// The page's DOM after Chromium has loaded it and run its script.
async fn chromium_dom(mesh: &Mesh, page: &std::path::Path) -> String {
    let profile = mesh.dir().join("chromium-profile");
    let run = tokio::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("chromium answers")
        .expect("run chromium (make test installs Debian's chromium)");
    assert!(
        output.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The value of the body's attribute `name` in a dumped DOM.
fn attribute(dom: &str, name: &str) -> Option<String> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let start = body.find(&format!("{name}=\""))? + name.len() + 2;
    let end = body[start..].find('"')? + start;
    Some(body[start..end].replace("&quot;", "\""))
}
