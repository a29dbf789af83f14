//! The bare broker: the same queue legs, persistence and confirms as the
//! gateway path, with nothing in the middle but a forwarder.

use crate::Config;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

async fn connect() -> anyhow::Result<Connection> {
    Ok(Connection::connect(&egov_testkit::amqp_url(), ConnectionProperties::default()).await?)
}

/// Every publish of the bare path is mandatory and confirmed, as the bus's.
const MANDATORY: BasicPublishOptions = BasicPublishOptions {
    mandatory: true,
    immediate: false,
};

fn persistent() -> BasicProperties {
    BasicProperties::default().with_delivery_mode(2)
}

async fn declare(channel: &Channel, queue: &str) -> anyhow::Result<()> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

async fn confirm_channel(connection: &Connection) -> anyhow::Result<Channel> {
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(channel)
}

/// Consumes `from`, publishes each message to `to` with a confirm, and acks
/// the original only after the confirm: a gateway that does nothing.
async fn forwarder(
    connection: &Connection,
    from: String,
    to: String,
    prefetch: u16,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let consume = connection.create_channel().await?;
    consume
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let publish = Arc::new(confirm_channel(connection).await?);
    let mut consumer = consume
        .basic_consume(
            from.as_str().into(),
            "forwarder".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(tokio::spawn(async move {
        while let Some(Ok(delivery)) = consumer.next().await {
            let publish = publish.clone();
            let to = to.clone();
            tokio::spawn(async move {
                let confirm = publish
                    .basic_publish(
                        "".into(),
                        to.as_str().into(),
                        MANDATORY,
                        &delivery.data,
                        persistent(),
                    )
                    .await
                    .expect("publish");
                confirm.await.expect("confirm");
                delivery
                    .acker
                    .ack(BasicAckOptions::default())
                    .await
                    .expect("ack");
            });
        }
    }))
}

/// Messages per second from the first publish to the last consumed.
pub async fn two_queue(config: &Config) -> anyhow::Result<f64> {
    let ns = egov_testkit::unique_name("bench-raw-");
    let (q1, q2) = (format!("{ns}.q1"), format!("{ns}.q2"));
    let producer = connect().await?;
    let middle = connect().await?;
    let receiver = connect().await?;
    let setup = producer.create_channel().await?;
    declare(&setup, &q1).await?;
    declare(&setup, &q2).await?;
    let forwarding = forwarder(&middle, q1.clone(), q2.clone(), 512).await?;

    let consume = receiver.create_channel().await?;
    consume.basic_qos(512, BasicQosOptions::default()).await?;
    let mut consumer = consume
        .basic_consume(
            q2.as_str().into(),
            "consumer".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let total = config.messages;
    let consumed = tokio::spawn(async move {
        let mut n = 0;
        while let Some(Ok(delivery)) = consumer.next().await {
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .expect("ack");
            n += 1;
            if n == total {
                break;
            }
        }
        Instant::now()
    });

    let publish = Arc::new(confirm_channel(&producer).await?);
    let payload = Arc::new(vec![7u8; config.payload]);
    let window = Arc::new(Semaphore::new(config.window));
    let meter = crate::cpu::Meter::start();
    let started = Instant::now();
    for _ in 0..config.messages {
        let permit = window.clone().acquire_owned().await?;
        let confirm = publish
            .basic_publish(
                "".into(),
                q1.as_str().into(),
                MANDATORY,
                &payload,
                persistent(),
            )
            .await?;
        tokio::spawn(async move {
            confirm.await.expect("confirm");
            drop(permit);
        });
    }
    let finished = consumed.await?;
    meter.finish("raw.two_queue", config.messages);
    forwarding.abort();
    for queue in [&q1, &q2] {
        setup
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    Ok(config.messages as f64 / (finished - started).as_secs_f64())
}

/// Round trips of one call at a time through four legs and two forwarders.
pub async fn rpc(config: &Config) -> anyhow::Result<Vec<Duration>> {
    let ns = egov_testkit::unique_name("bench-rpc-");
    let [q_req, q_srv, q_rep, q_cli] = ["req", "srv", "rep", "cli"].map(|q| format!("{ns}.{q}"));
    let client = connect().await?;
    let middle = connect().await?;
    let server = connect().await?;
    let setup = client.create_channel().await?;
    for queue in [&q_req, &q_srv, &q_rep, &q_cli] {
        declare(&setup, queue).await?;
    }
    let f1 = forwarder(&middle, q_req.clone(), q_srv.clone(), 64).await?;
    let f2 = forwarder(&middle, q_rep.clone(), q_cli.clone(), 64).await?;

    // The server answers each request, then acks it.
    let serve = server.create_channel().await?;
    let answers = confirm_channel(&server).await?;
    let mut requests = serve
        .basic_consume(
            q_srv.as_str().into(),
            "server".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let q_rep_s = q_rep.clone();
    let serving = tokio::spawn(async move {
        while let Some(Ok(delivery)) = requests.next().await {
            answers
                .basic_publish(
                    "".into(),
                    q_rep_s.as_str().into(),
                    MANDATORY,
                    &delivery.data,
                    persistent(),
                )
                .await
                .expect("publish")
                .await
                .expect("confirm");
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .expect("ack");
        }
    });

    let listen = client.create_channel().await?;
    let mut replies = listen
        .basic_consume(
            q_cli.as_str().into(),
            "client".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let publish = confirm_channel(&client).await?;
    let payload = vec![7u8; config.payload];
    let mut latencies = Vec::with_capacity(config.calls);
    let meter = crate::cpu::Meter::start();
    for i in 0..config.calls + config.calls / 10 {
        let started = Instant::now();
        publish
            .basic_publish(
                "".into(),
                q_req.as_str().into(),
                MANDATORY,
                &payload,
                persistent(),
            )
            .await?
            .await?;
        replies.next().await.expect("a reply")?;
        // The first tenth warms up connections and caches.
        if i >= config.calls / 10 {
            latencies.push(started.elapsed());
        }
    }
    meter.finish("raw.rpc", config.calls + config.calls / 10);
    f1.abort();
    f2.abort();
    serving.abort();
    for queue in [&q_req, &q_srv, &q_rep, &q_cli] {
        setup
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    latencies.sort();
    Ok(latencies)
}
