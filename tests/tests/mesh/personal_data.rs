//! Personal data stays out of the logs (issue 14, point 4): after a whole
//! application through the portal and one at the counter, no log line of
//! any system carries the citizens' IINs in the clear (masked, they read
//! like `900101****17`).

use crate::mesh::{Mesh, Options};
use egov_proto::intake::Stage as CounterStage;
use egov_proto::portal::Stage;

#[tokio::test]
async fn no_log_line_of_a_whole_scenario_carries_an_unmasked_iin() {
    let mesh = Mesh::start(Options::default()).await;
    let citizen = mesh.citizen().await;
    let sent = mesh.apply(&citizen, "003").await;
    mesh.wait_cabinet(&citizen, &sent.reference, &[Stage::Issued])
        .await;
    let operator = mesh.operator("operator").await;
    let recipient = mesh.person().await;
    let reference = mesh.checked_draft(&operator, "003", &recipient).await;
    mesh.accept(&operator, &reference).await.expect("accepted");
    mesh.wait_request(&operator, &reference, &[CounterStage::ResultReady])
        .await;
    mesh.settled_trace(&sent.reference).await;

    let mut leaks = Vec::new();
    let mut ready = 0;
    let logs = mesh.dir().join("logs");
    for entry in std::fs::read_dir(&logs).expect("the logs") {
        let path = entry.expect("a log").path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        // The logs read are the systems' own: each says it is ready.
        ready += usize::from(text.contains(" ready."));
        for (n, line) in text.lines().enumerate() {
            for iin in [&citizen.person.iin, &recipient.iin] {
                if line.contains(iin.as_str()) {
                    leaks.push(format!(
                        "{}:{}: {}",
                        path.file_name().unwrap_or_default().to_string_lossy(),
                        n + 1,
                        line.chars().take(300).collect::<String>()
                    ));
                }
            }
        }
    }
    assert!(
        ready >= 6,
        "{ready} systems' logs read in {}",
        logs.display()
    );
    assert!(
        leaks.is_empty(),
        "{} log lines carry an IIN in the clear:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
