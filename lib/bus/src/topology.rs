//! Declaring the queues of one system or of the gateway. Declarations are
//! idempotent and made on every (re)connect, by every party that needs a
//! queue to exist: the gateway declares every system's inbox so messages for
//! a receiver that has never started wait for it.

use crate::names::Names;
use egov_trust::SystemId;
use lapin::Channel;
use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use std::time::Duration;

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

fn args(pairs: &[(&str, AMQPValue)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in pairs {
        table.insert(ShortString::from(*key), value.clone());
    }
    table
}

fn text(s: String) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

/// The inbox dead-letters what expires in it to the gateway, which records
/// the message as expired and tells its sender.
fn inbox_args(names: &Names) -> FieldTable {
    args(&[
        ("x-dead-letter-exchange", text(String::new())),
        ("x-dead-letter-routing-key", text(names.gateway_expired())),
    ])
}

/// A delay queue: messages wait `delay`, then go to `target`.
fn delay_args(delay: Duration, target: String) -> FieldTable {
    args(&[
        (
            "x-message-ttl",
            AMQPValue::LongLongInt(delay.as_millis() as i64),
        ),
        ("x-dead-letter-exchange", text(String::new())),
        ("x-dead-letter-routing-key", text(target)),
    ])
}

/// A system's inbox only (what the gateway declares for every system).
pub async fn declare_inbox(
    channel: &Channel,
    names: &Names,
    system: SystemId,
) -> lapin::Result<()> {
    channel
        .queue_declare(names.inbox(system).into(), durable(), inbox_args(names))
        .await?;
    Ok(())
}

/// A system's inbox, retry queues (one per delay) and dead-letter queue.
pub async fn declare_system(
    channel: &Channel,
    names: &Names,
    system: SystemId,
    retry_delays: &[Duration],
) -> lapin::Result<()> {
    declare_inbox(channel, names, system).await?;
    for delay in retry_delays {
        channel
            .queue_declare(
                names.retry(system, *delay).into(),
                durable(),
                delay_args(*delay, names.inbox(system)),
            )
            .await?;
    }
    channel
        .queue_declare(names.dead(system).into(), durable(), FieldTable::default())
        .await?;
    Ok(())
}

/// The gateway's own queues.
pub async fn declare_gateway(
    channel: &Channel,
    names: &Names,
    retry_delays: &[Duration],
) -> lapin::Result<()> {
    for queue in [
        names.ingress(),
        names.gateway_expired(),
        names.gateway_dead(),
    ] {
        channel
            .queue_declare(queue.into(), durable(), FieldTable::default())
            .await?;
    }
    for delay in retry_delays {
        channel
            .queue_declare(
                names.gateway_retry(*delay).into(),
                durable(),
                delay_args(*delay, names.ingress()),
            )
            .await?;
    }
    Ok(())
}

/// One instance's reply queue: exclusive to its connection, gone with it.
pub async fn declare_reply(channel: &Channel, queue: &str) -> lapin::Result<()> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Deletes every durable queue of a namespace (for tests and teardown). A
/// failed delete closes the channel, so each uses a channel of its own.
pub async fn delete_namespace(
    connection: &lapin::Connection,
    names: &Names,
    gateway_delays: &[Duration],
    system_delays: &[Duration],
) -> lapin::Result<()> {
    let mut queues = vec![
        names.ingress(),
        names.gateway_expired(),
        names.gateway_dead(),
    ];
    queues.extend(gateway_delays.iter().map(|d| names.gateway_retry(*d)));
    for system in SystemId::ALL {
        queues.push(names.inbox(system));
        queues.push(names.dead(system));
        queues.extend(system_delays.iter().map(|d| names.retry(system, *d)));
    }
    let mut channel = connection.create_channel().await?;
    for queue in queues {
        if channel
            .queue_delete(queue.into(), QueueDeleteOptions::default())
            .await
            .is_err()
        {
            channel = connection.create_channel().await?;
        }
    }
    Ok(())
}
