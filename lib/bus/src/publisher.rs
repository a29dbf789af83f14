//! Publishing with publisher confirms and `mandatory`: a message is published
//! when the broker has confirmed it and routed it to a queue. A nack or a
//! returned (unroutable) message is an error, never silence.

use crate::names::Address;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection};
use lapin::{Confirmation, PublisherConfirm};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{}: the broker returned the message", no_route(.0))]
    NoRoute(Address),
    #[error("the broker refused the message for {0} (nack)")]
    Nacked(Address),
    #[error("the channel failed: {0}")]
    Channel(#[from] lapin::Error),
}

fn no_route(to: &Address) -> String {
    if to.exchange.is_empty() {
        format!("no queue {} exists", to.routing_key)
    } else {
        format!(
            "nothing is bound to exchange {} under key {}",
            to.exchange, to.routing_key
        )
    }
}

impl PublishError {
    /// Whether the connection or channel failed (a reconnect may help),
    /// rather than the broker refusing this message.
    pub fn is_connection_failure(&self) -> bool {
        matches!(self, PublishError::Channel(_))
    }
}

/// A confirm-mode channel; one per connection, shared by every task (lapin
/// pipelines the publishes and matches the confirms).
pub struct Publisher {
    channel: Channel,
}

impl Publisher {
    pub async fn open(connection: &Connection) -> lapin::Result<Publisher> {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Publisher { channel })
    }

    /// Publishes to `to` and waits for the broker's confirm.
    pub async fn publish(
        &self,
        to: &Address,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let confirm = self.start(to, body, properties).await?;
        finish(to, confirm).await
    }

    /// Sends the message and returns its pending confirm, so many publishes
    /// can be in flight at once; pass it to [`finish`].
    pub async fn start(
        &self,
        to: &Address,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<PublisherConfirm, PublishError> {
        Ok(self
            .channel
            .basic_publish(
                to.exchange.as_str().into(),
                to.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body,
                properties,
            )
            .await?)
    }
}

/// Waits for a publish's confirm and turns a nack or a return into an error.
pub async fn finish(to: &Address, confirm: PublisherConfirm) -> Result<(), PublishError> {
    match confirm.await? {
        Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
        Confirmation::Ack(Some(_returned)) => Err(PublishError::NoRoute(to.clone())),
        Confirmation::Nack(_) => Err(PublishError::Nacked(to.clone())),
    }
}
