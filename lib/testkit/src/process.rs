//! A service run as a child process, as an operator runs it: configured by
//! environment variables (and optionally a settings file), killed with
//! SIGKILL when a test needs a crash rather than a shutdown.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Starts `binary` with `env` (and `--config <config>` if given) and returns
/// once a line of its log contains `ready` (JSON logs on stdout). Its log
/// lines go to the test's stderr, prefixed with `name`, when TEST_LOG is set;
/// `<NAME>_LOG` sets its RUST_LOG (default `info`).
pub async fn start(
    name: &str,
    binary: &str,
    env: &HashMap<String, String>,
    config: Option<&Path>,
    ready: &str,
    patience: Duration,
) -> Child {
    let mut command = Command::new(binary);
    command.envs(env);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let log_filter = std::env::var(format!("{}_LOG", name.to_ascii_uppercase()))
        .unwrap_or_else(|_| "info".into());
    let mut child = command
        .env("EGOV__TELEMETRY__LOG_FORMAT", "json")
        .env("RUST_LOG", log_filter)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {binary}: {e}"));
    let stdout = child.stdout.take().expect("stdout is piped");
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (name, marker) = (name.to_owned(), ready.to_owned());
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut lines = BufReader::new(stdout).lines();
        // Read to the end, so the child never blocks on a full pipe.
        while let Ok(Some(line)) = lines.next_line().await {
            if std::env::var_os("TEST_LOG").is_some() {
                eprintln!("[{name}] {line}");
            }
            if line.contains(&marker)
                && let Some(ready) = ready.take()
            {
                let _ = ready.send(());
            }
        }
    });
    tokio::time::timeout(patience, ready_rx)
        .await
        .unwrap_or_else(|_| panic!("{binary} did not log {ready:?} within {patience:?}"))
        .unwrap_or_else(|_| panic!("{binary} exited before logging {ready:?}"));
    child
}
