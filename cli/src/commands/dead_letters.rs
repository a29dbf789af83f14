//! `egovctl dead-letters list|show|requeue`: what a system (or the
//! gateway) could not process, read from its dead-letter queue
//! (`<ns>.dead.<system>`, `<ns>.gateway.dead`) without losing it: every
//! message taken is put back (nack with requeue), except the one a requeue
//! moves — published into the system's inbox with a fresh attempt count,
//! confirmed by the broker, and only then removed from the dead letters.
//! The gateway's own dead letters cannot be requeued here: their way back
//! is the gateway's delivery, whose statuses would have to change with it.

use crate::output;
use egov_bus::{Names, amqp, envelope};
use egov_proto::envelope::Kind;
use egov_trust::SystemId;
use lapin::message::BasicGetMessage;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, ShortString};

#[derive(clap::Args)]
pub struct Args {
    /// The system whose dead letters to read (gateway, individuals, notary,
    /// workstation, portal, intake).
    #[arg(long, default_value = "gateway")]
    system: SystemId,
    /// The broker.
    #[arg(
        long,
        env = "EGOV_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp: String,
    /// The mesh's queue namespace (bus.namespace in the settings).
    #[arg(long, env = "EGOV_NAMESPACE", default_value = "egov")]
    namespace: String,
    /// At most this many messages are looked at.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// One line per dead letter: message id, sender → receiver, service,
    /// attempts, why.
    List,
    /// One dead letter in full: its header and the reason.
    Show { message_id: String },
    /// Move one dead letter back into the system's inbox, to be processed
    /// again (e.g. once the registry it needed is back).
    Requeue { message_id: String },
}

/// A dead letter as read.
struct Letter {
    delivery: BasicGetMessage,
    message_id: String,
    json: serde_json::Value,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let names = Names::new(&args.namespace).map_err(|e| anyhow::anyhow!("{e}"))?;
    let queue = match args.system {
        SystemId::Gateway => names.gateway_dead(),
        system => names.dead(system),
    };
    let connection = lapin::Connection::connect(&args.amqp, lapin::ConnectionProperties::default())
        .await
        .map_err(|e| anyhow::anyhow!("broker_unreachable: {}: {e}", args.amqp))?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await?;
    let mut letters = Vec::new();
    while letters.len() < args.limit {
        let Some(delivery) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
            .await?
        else {
            break;
        };
        letters.push(read(delivery));
    }
    let outcome = act(&args, &names, &channel, &queue, &mut letters).await;
    // Everything not moved goes back where it was.
    for letter in letters {
        letter
            .delivery
            .delivery
            .nack(BasicNackOptions {
                requeue: true,
                ..Default::default()
            })
            .await?;
    }
    let _ = connection.close(200, "done".into()).await;
    outcome
}

async fn act(
    args: &Args,
    names: &Names,
    channel: &lapin::Channel,
    queue: &str,
    letters: &mut Vec<Letter>,
) -> anyhow::Result<()> {
    match &args.command {
        Command::List => {
            if output::json() {
                let all: Vec<&serde_json::Value> = letters.iter().map(|l| &l.json).collect();
                output::print_json(&serde_json::json!({ "queue": queue, "dead_letters": all }));
            } else if letters.is_empty() {
                println!("No dead letters in {queue}.");
            } else {
                println!(
                    "{:<36}  {:<26} {:<26} {:>3}  why",
                    "message id", "sender → receiver", "service", "try"
                );
                for l in letters.iter() {
                    let j = &l.json;
                    println!(
                        "{:<36}  {:<26} {:<26} {:>3}  {}",
                        l.message_id,
                        format!("{} → {}", text(&j["sender"]), text(&j["receiver"])),
                        text(&j["service"]),
                        j["attempts"],
                        text(&j["reason"])
                    );
                }
            }
        }
        Command::Show { message_id } => {
            let letter = find(letters, message_id, queue)?;
            output::say(letter.json.clone(), || {
                for (key, value) in letter.json.as_object().into_iter().flatten() {
                    println!("{key:<16} {}", text(value));
                }
            });
        }
        Command::Requeue { message_id } => {
            if args.system == SystemId::Gateway {
                anyhow::bail!(
                    "not_requeueable: the gateway's dead letters go back through its delivery, not an inbox; requeue a system's instead"
                );
            }
            let at = letters
                .iter()
                .position(|l| &l.message_id == message_id)
                .ok_or_else(|| {
                    anyhow::anyhow!("unknown_dead_letter: no {message_id} in {queue}")
                })?;
            let letter = letters.remove(at);
            let inbox = names.inbox(args.system);
            let mut properties = amqp::with_attempt(&letter.delivery.properties, 1, None, None);
            if let Some(headers) = properties.headers().clone() {
                // The reason stays with the dead letter, not the retry.
                let mut kept = lapin::types::FieldTable::default();
                for (key, value) in headers.inner() {
                    if key.as_str() != amqp::DEAD_REASON {
                        kept.insert(key.clone(), value.clone());
                    }
                }
                properties = properties.with_headers(kept);
            }
            let confirm = channel
                .basic_publish(
                    "".into(),
                    inbox.as_str().into(),
                    BasicPublishOptions::default(),
                    &letter.delivery.data,
                    properties,
                )
                .await?
                .await?;
            if !confirm.is_ack() {
                letters.push(letter);
                anyhow::bail!(
                    "requeue_failed: the broker did not confirm the publish into {inbox}"
                );
            }
            letter
                .delivery
                .delivery
                .ack(BasicAckOptions::default())
                .await?;
            output::say(
                serde_json::json!({ "requeued": message_id, "to": inbox }),
                || println!("{message_id} is back in {inbox}."),
            );
        }
    }
    Ok(())
}

fn find<'l>(letters: &'l [Letter], message_id: &str, queue: &str) -> anyhow::Result<&'l Letter> {
    letters
        .iter()
        .find(|l| l.message_id == message_id)
        .ok_or_else(|| anyhow::anyhow!("unknown_dead_letter: no {message_id} in {queue}"))
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// What a dead letter says about itself: its envelope's header (when it
/// decodes) and the reason the bus recorded.
fn read(delivery: BasicGetMessage) -> Letter {
    let properties = &delivery.properties;
    let reason = properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(&ShortString::from(amqp::DEAD_REASON)))
        .map(|v| match v {
            AMQPValue::LongString(s) => s.to_string(),
            other => format!("{other:?}"),
        });
    let attempts = amqp::attempt(properties);
    let (message_id, json) = match envelope::open(&delivery.data) {
        Ok(opened) => {
            let h = &opened.header;
            (
                h.message_id.clone(),
                serde_json::json!({
                    "message_id": h.message_id,
                    "conversation_id": h.conversation_id,
                    "sender": h.sender,
                    "receiver": h.receiver,
                    "service": h.service,
                    "kind": Kind::try_from(h.kind).map(|k| k.as_str_name()).unwrap_or("KIND_UNSPECIFIED"),
                    "attempts": attempts,
                    "reason": reason,
                    "bytes": delivery.data.len(),
                }),
            )
        }
        Err(error) => {
            let id = properties
                .message_id()
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default();
            (
                id.clone(),
                serde_json::json!({
                    "message_id": id,
                    "attempts": attempts,
                    "reason": reason,
                    "undecodable": error.to_string(),
                    "bytes": delivery.data.len(),
                }),
            )
        }
    };
    Letter {
        delivery,
        message_id,
        json,
    }
}
