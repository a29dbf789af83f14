//! Publishing with publisher confirms and `mandatory`: a message is published
//! when the broker has confirmed it and routed it to a queue. A nack or a
//! returned (unroutable) message is an error, never silence.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection};
use lapin::{Confirmation, PublisherConfirm};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no queue {0} exists: the broker returned the message")]
    NoRoute(String),
    #[error("the broker refused the message for {0} (nack)")]
    Nacked(String),
    #[error("the channel failed: {0}")]
    Channel(#[from] lapin::Error),
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

    /// Publishes to `queue` (through the default exchange) and waits for the
    /// broker's confirm.
    pub async fn publish(
        &self,
        queue: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let confirm = self.start(queue, body, properties).await?;
        finish(queue, confirm).await
    }

    /// Sends the message and returns its pending confirm, so many publishes
    /// can be in flight at once; pass it to [`finish`].
    pub async fn start(
        &self,
        queue: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<PublisherConfirm, PublishError> {
        Ok(self
            .channel
            .basic_publish(
                "".into(),
                queue.into(),
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
pub async fn finish(queue: &str, confirm: PublisherConfirm) -> Result<(), PublishError> {
    match confirm.await? {
        Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
        Confirmation::Ack(Some(_returned)) => Err(PublishError::NoRoute(queue.to_owned())),
        Confirmation::Nack(_) => Err(PublishError::Nacked(queue.to_owned())),
    }
}
