//! `make bench`: the bare broker and the gateway measured in one run, on the
//! same machine, the same message size, the same persistence and confirms.
//!
//! - raw.two_queue: producer → q1 → bare forwarder → q2 → consumer. Every
//!   message persistent, every publish confirmed, the forwarder acks q1 only
//!   after q2's confirm — the gateway's path shape with nothing in it.
//! - gateway.async: portal → ingress → gateway (verify, log, countersign)
//!   → workstation's inbox → workstation's handler (dedup transaction,
//!   receipt).
//! - raw.rpc: client → q_req → forwarder → q_srv → server → q_rep →
//!   forwarder → q_cli → client: the four legs of a call through the gateway.
//! - gateway.sync: intake's `call` to individuals through the gateway.
//!
//! - registry.lookup: "person by IIN" through the gateway with a million
//!   people loaded, at concurrency 32 (registry.rs; BENCH_ONLY=registry
//!   runs it alone).
//! - workstation.autopilot: applications from a portal through the gateway,
//!   answered on autopilot with a result signed with the head's EDS
//!   (workstation.rs, BENCH_APPLICATIONS; BENCH_ONLY=workstation runs it alone).
//!
//! Every section also prints what it cost the machine (cpu.rs): CPU per
//! operation of the bench process, RabbitMQ and PostgreSQL from /proc
//! (`<name>.cpu_us_per_op[.bench|.broker|.postgres]`) and their memory at
//! its end (`<name>.rss_mib.<group>`, PostgreSQL's and RabbitMQ's as Pss).
//!
//! Sizes: BENCH_MESSAGES (async, default 20000), BENCH_CALLS (sync, 1000),
//! BENCH_PAYLOAD bytes (1024); BENCH_PEOPLE, BENCH_LOOKUPS and
//! BENCH_CONCURRENCY for registry.lookup (see registry.rs).

mod cpu;
mod crypto;
mod gateway;
mod portal;
mod raw;
mod registry;
mod statuses;
mod workstation;

use std::time::Duration;

pub struct Config {
    pub messages: usize,
    pub calls: usize,
    pub payload: usize,
    /// Publishes in flight at once (awaiting confirms) on the sending side.
    pub window: usize,
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn line(name: &str, value: f64, unit: &str) {
    println!("bench {name} {value:.2} {unit}");
}

/// p-th percentile (0–100) of durations, in milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config {
        messages: env("BENCH_MESSAGES", 20_000),
        calls: env("BENCH_CALLS", 1_000),
        payload: env("BENCH_PAYLOAD", 1024),
        window: env("BENCH_WINDOW", 1_000),
    };
    eprintln!(
        "egov-bench: {} async messages, {} calls, {} byte payloads, on {} cores",
        config.messages,
        config.calls,
        config.payload,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    egov_runtime::telemetry::init_for_tests();
    if std::env::var_os("BENCH_STAGES").is_some() {
        return gateway::stages(&config).await;
    }
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only == "registry" {
        return registry::report().await;
    }
    if only == "workstation" {
        return workstation::report().await;
    }
    if only == "portal" {
        return portal::report().await;
    }
    if only.is_empty() {
        let (signs, verifies) = crypto::ecdsa_per_core();
        line("crypto.ecdsa_p256.sign_per_s_per_core", signs, "ops/s");
        line("crypto.ecdsa_p256.verify_per_s_per_core", verifies, "ops/s");
    }
    if only != "sync" {
        let raw_async = raw::two_queue(&config).await?;
        line("raw.two_queue.msgs_per_s", raw_async, "msgs/s");
        let gateway_async = gateway::asynchronous(&config, "gateway.async", 1).await?;
        line("gateway.async.msgs_per_s", gateway_async, "msgs/s");
        line("gateway.async.ratio", gateway_async / raw_async, "ratio");
        // Two instances sharing the ingress and the chain (issue 15 point
        // 5): on one machine they share its cores with the broker and the
        // database too, so this shows what the shared chain costs, not a
        // cluster's gain.
        let two = gateway::asynchronous(&config, "gateway.async.two_instances", 2).await?;
        line("gateway.async.two_instances.msgs_per_s", two, "msgs/s");
        // The same comparison by cost, which holds on any machine: the CPU
        // the gateway path costs per message over the bare path's.
        if let (Some(gateway), Some(raw)) = (
            cpu::recorded("gateway.async"),
            cpu::recorded("raw.two_queue"),
        ) {
            line("gateway.async.cpu_cost_ratio", gateway / raw, "ratio");
        }
    }
    if only == "async" {
        return Ok(());
    }

    let raw_rpc = raw::rpc(&config).await?;
    line("raw.rpc.p50_ms", percentile_ms(&raw_rpc, 50.0), "ms");
    line("raw.rpc.p99_ms", percentile_ms(&raw_rpc, 99.0), "ms");
    let sync = gateway::synchronous(&config).await?;
    line("gateway.sync.p50_ms", percentile_ms(&sync, 50.0), "ms");
    line("gateway.sync.p99_ms", percentile_ms(&sync, 99.0), "ms");
    if let (Some(gateway), Some(raw)) = (cpu::recorded("gateway.sync"), cpu::recorded("raw.rpc")) {
        line("gateway.sync.cpu_cost_ratio", gateway / raw, "ratio");
    }
    line(
        "gateway.sync.p50_ratio",
        percentile_ms(&sync, 50.0) / percentile_ms(&raw_rpc, 50.0),
        "ratio",
    );
    if only.is_empty() {
        registry::report().await?;
        workstation::report().await?;
        portal::report().await?;
    }
    Ok(())
}
