//! `make run` (`egovctl run`) as a newcomer runs it, with the repository's
//! own settings (deploy/config) and only what must differ on a shared test
//! machine given as `EGOV__…` variables: every system is its own process
//! and exports its spans under a resource of its own, as its `[telemetry]`
//! says (issue 13 point 2: `make run` honours the telemetry settings).

use crate::mesh::PATIENCE;
use crate::otlp::Receiver;
use crate::process::{binary, workspace_root};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

const SYSTEMS: [(&str, &str); 6] = [
    ("gateway (ЭҮШ) gRPC", "egov-gateway"),
    ("individuals (ЖТ МДБ)", "egov-individuals"),
    ("notary (БНАЖ)", "egov-notary"),
    ("workstation (ЭҮАШ АЖО)", "egov-workstation"),
    ("portal (ЭҮП)", "egov-portal"),
    ("intake (МК ЫАЖ)", "egov-intake"),
];

#[tokio::test]
async fn make_run_starts_every_system_as_its_own_process_exporting_under_its_own_name() {
    let receiver = Receiver::start().await;
    let database = egov_testkit::database::TestDatabase::create().await;
    let namespace = egov_testkit::unique_name("run-");
    let dir = std::env::temp_dir().join(egov_testkit::unique_name("egov-run-"));
    std::fs::create_dir_all(&dir).expect("the run's directory");
    // A free port for the CRL point, which the systems must be told.
    let crl_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();

    let mut run = tokio::process::Command::new(binary("egovctl"));
    run.current_dir(&dir)
        .arg("run")
        .arg("--config")
        .arg(workspace_root().join("deploy/config"))
        .args(["--crl-listen", &format!("127.0.0.1:{crl_port}")])
        .env("NO_COLOR", "1")
        .env("EGOV__GRPC__LISTEN", "127.0.0.1:0")
        .env("EGOV__METRICS__LISTEN", "127.0.0.1:0")
        .env("EGOV__BUS__URL", egov_testkit::amqp_url())
        .env("EGOV__BUS__NAMESPACE", &namespace)
        .env("EGOV__DATABASE__URL", database.url())
        .env(
            "EGOV__TRUST__CRL_URL",
            format!("http://127.0.0.1:{crl_port}/crl"),
        )
        .env("EGOV__TELEMETRY__OTLP_ENDPOINT", &receiver.endpoint)
        // Plans on a day the calendar data has, whatever today is.
        .env(
            "EGOV_WORKSTATION__WORKSTATION__REGISTRATION_TIME",
            egov_harness::REGISTERED_AT,
        )
        .env(
            "EGOV_INTAKE__INTAKE__COUNTER_TIME",
            egov_harness::REGISTERED_AT,
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = run.spawn().expect("start egovctl run");
    let output = Arc::new(Mutex::new(Vec::<String>::new()));
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
    ]
    .into_iter()
    .flatten()
    {
        let output = output.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                output.lock().unwrap().push(line);
            }
        });
    }
    let shown = || output.lock().unwrap().join("\n");

    // The launcher's summary names each system's address.
    let addresses: Vec<SocketAddr> =
        egov_testkit::wait::until(PATIENCE, "egovctl run's summary", || {
            let text = shown();
            async move {
                SYSTEMS
                    .iter()
                    .map(|(label, _)| {
                        text.lines()
                            .find_map(|line| line.trim_start().strip_prefix(label))
                            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
                            .ok_or_else(|| format!("no address of {label} yet"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            }
        })
        .await;

    // Each answers its health check: a gRPC request, so a span of its own.
    for address in &addresses {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .expect("an endpoint")
            .connect()
            .await
            .expect("connect");
        tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("a health answer");
    }
    let resources = egov_testkit::wait::until(PATIENCE, "a span from every system", || {
        let seen: BTreeSet<String> = receiver.spans().into_iter().map(|s| s.service).collect();
        async move {
            let missing: Vec<&str> = SYSTEMS
                .iter()
                .map(|(_, name)| *name)
                .filter(|name| !seen.contains(*name))
                .collect();
            if missing.is_empty() {
                Ok(seen)
            } else {
                Err(format!("no spans from {missing:?} yet (seen {seen:?})"))
            }
        }
    })
    .await;
    assert!(
        !resources.contains("egov-mesh"),
        "the launcher's one resource for all: {resources:?}"
    );
    // Six processes besides the launcher: each logs its own start.
    let pids: BTreeSet<String> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| {
            let pid = entry.ok()?.file_name().into_string().ok()?;
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let command = String::from_utf8_lossy(&command).replace('\0', " ");
            (command.contains(" serve ")
                && std::fs::read_link(format!("/proc/{pid}/cwd")).ok()? == dir)
                .then_some(pid)
        })
        .collect();
    assert_eq!(
        pids.len(),
        6,
        "one process per system: {pids:?}\n{}",
        shown()
    );

    // SIGTERM to the launcher stops every system, each finishing its work.
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("egovctl run stops")
        .expect("its status");
    assert!(status.success(), "{status}\n{}", shown());
    for pid in &pids {
        egov_testkit::wait::until(
            Duration::from_secs(30),
            &format!("system process {pid} gone"),
            || {
                let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists();
                async move {
                    if gone {
                        Ok(())
                    } else {
                        Err("still running".to_owned())
                    }
                }
            },
        )
        .await;
    }

    // What the run left on the shared broker goes with the test.
    let names = egov_bus::Names::new(&namespace).expect("a namespace");
    let connection = lapin::Connection::connect(
        &egov_testkit::amqp_url(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("connect to the broker");
    let delays = [1, 10, 60].map(Duration::from_secs);
    let _ = egov_bus::topology::delete_namespace(&connection, &names, &delays, &delays).await;
    let _ = connection.close(200, "run test done".into()).await;
    let _ = std::fs::remove_dir_all(&dir);
}
