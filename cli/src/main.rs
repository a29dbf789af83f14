//! `egovctl`: the operator's and integration tester's command line.
//!
//! Each subcommand lives in its own module under `commands/`, exposing a clap
//! `Args` type and a `run` function; this file only dispatches.

mod commands;
mod grpc;
mod output;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "egovctl", version, about = "Operate and test the egov-mesh")]
struct Cli {
    /// Print one JSON document on stdout instead of text (proto messages in
    /// their proto3 JSON mapping); errors as {"error": {"code", "message"}}.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    tls: grpc::TlsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The regulations of the public services (regulations/ data files).
    Regulations(commands::regulations::Args),
    /// Due time of a service's result and of each staff step.
    Deadline(commands::deadline::Args),
    /// Load the synthetic population into the registries (individuals, notary).
    Seed(commands::seed::Args),
    /// Start the whole mesh on this machine (what `make run` does).
    Run(commands::run::Args),
    /// One system of the mesh in this process (what `egovctl run` starts
    /// for each system).
    Serve(commands::serve::Args),
    /// The mesh CA: create it, issue and revoke certificates, serve the CRL.
    Pki(commands::pki::Args),
    /// Ask the gateway about a message, a conversation, its routes or its log.
    Gateway(commands::gateway::Args),
    /// Ask ЖТ МДБ or БНАЖ through the gateway (a person by IIN, a power of attorney).
    Lookup(commands::lookup::Args),
    /// Outages on demand: set a registry's fault mode, or show every mode.
    Fault(commands::fault::Args),
    /// The portal as a citizen uses it: register, log in, apply with an EDS,
    /// the cabinet, the result (diagram 2 from the terminal).
    Portal(commands::portal::Args),
    /// The State Corporation's counter as an operator uses it: the request,
    /// consent, look-ups, receipts, hand-over (diagram 1 from the terminal).
    Intake(commands::intake::Args),
    /// Every system at a glance: health, inbox depth, dead letters, fault
    /// mode.
    Status(commands::status::Args),
    /// Least privilege on the broker: every system's own user and rights.
    Broker(commands::broker::Args),
    /// The dead letters of a system or the gateway: list, show one, requeue.
    DeadLetters(commands::dead_letters::Args),
    /// One application's path through its diagram, as a page for a browser
    /// (lanes per system, each staff step against its budget).
    Trace(commands::trace::Args),
}

/// Exit codes: 0 done, 1 refused or failed, 2 a wrong command line
/// (clap's). See `output`.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    output::set_json(cli.json);
    let run = async {
        grpc::set_tls(&cli.tls)?;
        dispatch(cli.command).await
    };
    match run.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            let message = format!("{error:#}");
            if output::json() {
                // The services' messages start with their stable code.
                let code = message
                    .split(':')
                    .next()
                    .filter(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                    .unwrap_or("failed");
                output::print_json(&serde_json::json!({
                    "error": { "code": code, "message": message }
                }));
            } else {
                eprintln!("egovctl: {message}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Regulations(args) => commands::regulations::run(args),
        Command::Deadline(args) => commands::deadline::run(args),
        Command::Seed(args) => commands::seed::run(args).await,
        Command::Run(args) => commands::run::run(args).await,
        Command::Serve(args) => commands::serve::run(args).await,
        Command::Pki(args) => commands::pki::run(args).await,
        Command::Gateway(args) => commands::gateway::run(args).await,
        Command::Lookup(args) => commands::lookup::run(args).await,
        Command::Fault(args) => commands::fault::run(args).await,
        Command::Portal(args) => commands::portal::run(args).await,
        Command::Intake(args) => commands::intake::run(args).await,
        Command::Status(args) => commands::status::run(args).await,
        Command::Broker(args) => commands::broker::run(args).await,
        Command::DeadLetters(args) => commands::dead_letters::run(args).await,
        Command::Trace(args) => commands::trace::run(args).await,
    }
}
