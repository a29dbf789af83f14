//! The same shapes through the gateway, with real systems at both ends.

use crate::Config;
use egov_bus::{Context, Handler, HandlerError, Inbox, Incoming, Outcome, Outgoing};
use egov_proto::envelope::Kind;
use egov_testkit::TestMesh;
use egov_trust::SystemId;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A receiver that does nothing but count (the bus still records each
/// message id in its transaction and reports receipts).
struct Counter {
    handled: AtomicUsize,
    target: AtomicUsize,
    done: Notify,
    reply: Option<Vec<u8>>,
}

impl Handler for Counter {
    fn handle<'a>(
        &'a self,
        _: &'a Incoming,
        _: &'a mut Context<'_>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(async move {
            let n = self.handled.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= self.target.load(Ordering::SeqCst) {
                self.done.notify_one();
            }
            Ok(match &self.reply {
                Some(payload) => Outcome::Reply(payload.clone()),
                None => Outcome::Done,
            })
        })
    }
}

async fn start_gateway(
    mesh: &TestMesh,
    prefetch: u16,
) -> anyhow::Result<(
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
)> {
    let mut source = mesh.source(SystemId::Gateway);
    source
        .env
        .insert("EGOV__BUS__PREFETCH".into(), prefetch.to_string());
    source
        .env
        .insert("EGOV__DATABASE__MAX_CONNECTIONS".into(), "8".into());
    source
        .env
        .insert("EGOV__TRUST__CRL_TTL".into(), "60s".into());
    let settings: egov_gateway::Settings = egov_runtime::settings::load("gateway", &source)?;
    let app = egov_gateway::Application::build(settings).await?;
    app.wait_ready(Duration::from_secs(20)).await?;
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(stop.clone()));
    Ok((stop, task))
}

async fn receiver(
    mesh: &TestMesh,
    system: SystemId,
    counter: Arc<Counter>,
) -> anyhow::Result<egov_bus::Bus> {
    let pool = mesh.pool(system.as_str()).await;
    let mut settings = mesh.bus_settings();
    settings.prefetch = 512;
    let bus = egov_bus::Bus::start(
        settings,
        mesh.identity(system),
        crl_cached(mesh),
        Some(Inbox {
            handler: counter,
            pool,
        }),
    )
    .await?;
    bus.wait_connected(Duration::from_secs(20)).await?;
    Ok(bus)
}

/// Trust stores that cache the CRL for a minute, as deployed systems do.
fn crl_cached(mesh: &TestMesh) -> Arc<egov_trust::TrustStore> {
    Arc::new(
        egov_trust::TrustStore::new(
            mesh.pki.ca.certificate_der().to_vec(),
            egov_trust::CrlSettings {
                url: mesh.pki.crl_url.clone(),
                ttl: Duration::from_secs(60),
                max_stale: Duration::from_secs(600),
                fetch_timeout: Duration::from_secs(5),
            },
        )
        .expect("trust store"),
    )
}

async fn sender(mesh: &TestMesh, system: SystemId) -> anyhow::Result<egov_bus::Bus> {
    let bus = egov_bus::Bus::start(
        mesh.bus_settings(),
        mesh.identity(system),
        crl_cached(mesh),
        None,
    )
    .await?;
    bus.wait_connected(Duration::from_secs(20)).await?;
    Ok(bus)
}

/// Messages from the portal to the workstation through `instances`
/// gateways on one broker and one database (they share the ingress and the
/// hash chain); printed as `name`'s figures. Messages per second.
pub async fn asynchronous(config: &Config, name: &str, instances: usize) -> anyhow::Result<f64> {
    let mesh = TestMesh::new().await;
    let mut gateways = Vec::new();
    for _ in 0..instances {
        gateways.push(start_gateway(&mesh, 512).await?);
    }
    let counter = Arc::new(Counter {
        handled: AtomicUsize::new(0),
        target: AtomicUsize::new(config.messages),
        done: Notify::new(),
        reply: None,
    });
    let _workstation = receiver(&mesh, SystemId::Workstation, counter.clone()).await?;
    let portal = sender(&mesh, SystemId::Portal).await?;
    let payload = vec![7u8; config.payload];
    let window = Arc::new(Semaphore::new(config.window));

    // The CPU of the timed part only (not the set-up: migrations, connects).
    let meter = crate::cpu::Meter::start();
    let started = Instant::now();
    for i in 0..config.messages {
        let permit = window.clone().acquire_owned().await?;
        let portal = portal.clone();
        let message = Outgoing::raw(
            SystemId::Workstation,
            "submit-application",
            Kind::Request,
            payload.clone(),
        )
        .conversation(format!("bench-{i}"));
        tokio::spawn(async move {
            portal.send(message).await.expect("sent");
            drop(permit);
        });
    }
    let done = counter.done.notified();
    if counter.handled.load(Ordering::SeqCst) < config.messages {
        tokio::time::timeout(Duration::from_secs(600), done).await?;
    }
    let elapsed = started.elapsed();
    meter.finish(name, config.messages);
    crate::statuses::report(name, &mesh).await?;
    for (stop, _) in &gateways {
        stop.cancel();
    }
    for (_, task) in gateways {
        task.await??;
    }
    Ok(config.messages as f64 / elapsed.as_secs_f64())
}

pub async fn synchronous(config: &Config) -> anyhow::Result<Vec<Duration>> {
    let mesh = TestMesh::new().await;
    let (stop, task) = start_gateway(&mesh, 64).await?;
    let counter = Arc::new(Counter {
        handled: AtomicUsize::new(0),
        target: AtomicUsize::new(usize::MAX),
        done: Notify::new(),
        reply: Some(vec![7u8; config.payload]),
    });
    let _individuals = receiver(&mesh, SystemId::Individuals, counter).await?;
    let intake = sender(&mesh, SystemId::Intake).await?;
    let payload = vec![7u8; config.payload];
    let mut latencies = Vec::with_capacity(config.calls);
    let meter = crate::cpu::Meter::start();
    for i in 0..config.calls + config.calls / 10 {
        let started = Instant::now();
        let request = Outgoing::raw(
            SystemId::Individuals,
            "person-by-iin",
            Kind::Request,
            payload.clone(),
        );
        intake.call(request, Duration::from_secs(10)).await?;
        if i >= config.calls / 10 {
            latencies.push(started.elapsed());
        }
    }
    meter.finish("gateway.sync", config.calls + config.calls / 10);
    crate::statuses::report("gateway.sync", &mesh).await?;
    stop.cancel();
    task.await??;
    latencies.sort();
    Ok(latencies)
}

/// Where the time goes: each stage alone, with its input already queued.
/// Printed as `bench stage.<name>.msgs_per_s`.
pub async fn stages(config: &Config) -> anyhow::Result<()> {
    let mesh = TestMesh::new().await;
    let names = mesh.names();
    let portal = sender(&mesh, SystemId::Portal).await?;
    // Declare the queues the gateway would (so the sends have somewhere to go).
    {
        let (connection, channel) = mesh.channel().await;
        egov_bus::topology::declare_gateway(&channel, &names, &egov_testkit::mesh::RETRY_DELAYS)
            .await?;
        egov_bus::topology::declare_inbox(&channel, &names, SystemId::Workstation).await?;
        connection.close(200, "ok".into()).await?;
    }
    let payload = vec![7u8; config.payload];
    let window = Arc::new(Semaphore::new(config.window));
    let started = Instant::now();
    let mut sends = Vec::new();
    for i in 0..config.messages {
        let permit = window.clone().acquire_owned().await?;
        let portal = portal.clone();
        let message = Outgoing::raw(
            SystemId::Workstation,
            "submit-application",
            Kind::Request,
            payload.clone(),
        )
        .conversation(format!("stage-{i}"));
        sends.push(tokio::spawn(async move {
            portal.send(message).await.expect("sent");
            drop(permit);
        }));
    }
    for send in sends {
        send.await?;
    }
    crate::line(
        "stage.send.msgs_per_s",
        config.messages as f64 / started.elapsed().as_secs_f64(),
        "msgs/s",
    );

    let started = Instant::now();
    let (stop, task) = start_gateway(&mesh, 512).await?;
    let inbox = names.inbox(SystemId::Workstation);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while (mesh.queue_depth(&inbox).await as usize) < config.messages {
        tick.tick().await;
    }
    crate::line(
        "stage.gateway.msgs_per_s",
        config.messages as f64 / started.elapsed().as_secs_f64(),
        "msgs/s",
    );

    let counter = Arc::new(Counter {
        handled: AtomicUsize::new(0),
        target: AtomicUsize::new(config.messages),
        done: Notify::new(),
        reply: None,
    });
    let started = Instant::now();
    let done = counter.done.notified();
    let _workstation = receiver(&mesh, SystemId::Workstation, counter.clone()).await?;
    tokio::time::timeout(Duration::from_secs(600), done).await?;
    crate::line(
        "stage.receive.msgs_per_s",
        config.messages as f64 / started.elapsed().as_secs_f64(),
        "msgs/s",
    );
    stop.cancel();
    task.await??;
    Ok(())
}
