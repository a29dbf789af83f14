//! Declaring the queues and exchanges of one system or of the gateway.
//! Declarations are idempotent and made on every (re)connect, by every party
//! that needs them to exist: the gateway declares every system's exchange and
//! inbox, so messages for a receiver that has never started wait for it, and
//! binds each system's exchange to its ingress. What each party declares is
//! what its broker user may configure ([`crate::permissions`]).

use crate::names::{Address, EXPIRED_KEY, INGRESS_KEY, Names, QueueType};
use egov_trust::SystemId;
use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};
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

/// A durable queue's arguments: `pairs` and the namespace's queue type.
fn queue_args(names: &Names, pairs: &[(&str, AMQPValue)]) -> FieldTable {
    let mut table = args(pairs);
    if names.queue_type() == QueueType::Quorum {
        table.insert("x-queue-type".into(), text("quorum".to_owned()));
    }
    table
}

async fn declare_queue(
    channel: &Channel,
    names: &Names,
    queue: String,
    pairs: &[(&str, AMQPValue)],
) -> lapin::Result<()> {
    channel
        .queue_declare(queue.into(), durable(), queue_args(names, pairs))
        .await?;
    Ok(())
}

async fn bind(channel: &Channel, queue: String, exchange: String, key: &str) -> lapin::Result<()> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// A delay queue: messages wait `delay`, then go to `to`.
fn delay_args(delay: Duration, to: Address) -> [(&'static str, AMQPValue); 3] {
    [
        (
            "x-message-ttl",
            AMQPValue::LongLongInt(delay.as_millis() as i64),
        ),
        ("x-dead-letter-exchange", text(to.exchange)),
        ("x-dead-letter-routing-key", text(to.routing_key)),
    ]
}

/// A system's exchange and inbox (what the gateway declares for every
/// system, and the system for itself). The inbox dead-letters what expires
/// in it through the system's exchange to the gateway, which records the
/// message as expired and tells its sender.
pub async fn declare_inbox(
    channel: &Channel,
    names: &Names,
    system: SystemId,
) -> lapin::Result<()> {
    channel
        .exchange_declare(
            names.exchange(system).into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    declare_queue(
        channel,
        names,
        names.inbox(system),
        &[
            ("x-dead-letter-exchange", text(names.exchange(system))),
            ("x-dead-letter-routing-key", text(EXPIRED_KEY.to_owned())),
        ],
    )
    .await
}

/// A system's exchange, inbox, retry queues (one per delay) and dead-letter
/// queue, and the bindings of its exchange to them: all a system's broker
/// user may configure.
pub async fn declare_system(
    channel: &Channel,
    names: &Names,
    system: SystemId,
    retry_delays: &[Duration],
) -> lapin::Result<()> {
    declare_inbox(channel, names, system).await?;
    let exchange = names.exchange(system);
    let back_to_inbox = names.own(system, names.inbox(system));
    for delay in retry_delays {
        let retry = names.retry(system, *delay);
        declare_queue(
            channel,
            names,
            retry.clone(),
            &delay_args(*delay, back_to_inbox.clone()),
        )
        .await?;
        bind(channel, retry.clone(), exchange.clone(), &retry).await?;
    }
    declare_queue(channel, names, names.dead(system), &[]).await?;
    bind(
        channel,
        names.dead(system),
        exchange.clone(),
        &names.dead(system),
    )
    .await?;
    bind(channel, names.inbox(system), exchange, &names.inbox(system)).await
}

/// The gateway's own queues, every system's exchange and inbox, and the
/// bindings that are the systems' one way to the gateway.
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
        declare_queue(channel, names, queue, &[]).await?;
    }
    for delay in retry_delays {
        declare_queue(
            channel,
            names,
            names.gateway_retry(*delay),
            &delay_args(*delay, Address::queue(names.ingress())),
        )
        .await?;
    }
    for system in SystemId::ALL {
        if system == SystemId::Gateway {
            continue;
        }
        declare_inbox(channel, names, system).await?;
        bind(
            channel,
            names.ingress(),
            names.exchange(system),
            INGRESS_KEY,
        )
        .await?;
        bind(
            channel,
            names.gateway_expired(),
            names.exchange(system),
            EXPIRED_KEY,
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

/// Deletes every durable queue and exchange of a namespace (for tests and teardown). A
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
    for system in SystemId::ALL {
        if channel
            .exchange_delete(
                names.exchange(system).into(),
                ExchangeDeleteOptions::default(),
            )
            .await
            .is_err()
        {
            channel = connection.create_channel().await?;
        }
    }
    Ok(())
}
