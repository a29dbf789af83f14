//! One AMQP connection per process, kept up by a supervisor.
//!
//! The first connect and every reconnect go through the same function:
//! connect, open the confirm-mode publishing channel, run every registered
//! `OnConnect` hook (declare topology, start consumers), then publish the new
//! `Session`. When the connection fails, the session is withdrawn and the
//! supervisor tries again after a growing, jittered delay.

use crate::publisher::Publisher;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lapin::{Connection, ConnectionProperties};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A live connection and its publishing channel.
pub struct Session {
    pub connection: Connection,
    pub publisher: Publisher,
    /// Increases with every (re)connect.
    pub generation: u64,
    /// Cancelled when this session ends; consumers started on it stop then.
    pub ended: CancellationToken,
}

impl Session {
    pub async fn channel(&self) -> lapin::Result<lapin::Channel> {
        self.connection.create_channel().await
    }
}

/// Work to do on every new session, before it is handed out: declare queues,
/// start consumers. An error fails the whole connect and it is retried.
pub trait OnConnect: Send + Sync + 'static {
    fn on_connect(&self, session: Arc<Session>) -> BoxFuture<'_, lapin::Result<()>>;
}

#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// The broker URL, with its password: never printed.
    pub url: secrecy::SecretString,
    /// Shown in the broker's connection list (and used by tests to close it).
    pub connection_name: String,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

#[derive(Clone)]
pub struct Connector {
    inner: Arc<ConnectorInner>,
}

struct ConnectorInner {
    settings: ConnectorSettings,
    session: watch::Sender<Option<Arc<Session>>>,
    /// Stops the supervisor and closes the connection.
    closing: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
#[error("the broker is not reachable (no connection within {0:?})")]
pub struct Unavailable(pub Duration);

impl Connector {
    /// A connector that has not connected yet; [`Connector::run`] starts it.
    /// (Two steps, so the hooks can hold things that hold the connector.)
    pub fn new(settings: ConnectorSettings) -> Connector {
        let (session, _) = watch::channel(None);
        Connector {
            inner: Arc::new(ConnectorInner {
                settings,
                session,
                closing: CancellationToken::new(),
            }),
        }
    }

    /// Starts the supervisor; it connects in the background, runs `hooks` on
    /// every new connection, and reconnects until [`Connector::close`].
    pub fn run(&self, hooks: Vec<Arc<dyn OnConnect>>) {
        tokio::spawn(supervise(self.inner.clone(), hooks));
    }

    /// `new` and `run` in one.
    pub fn start(settings: ConnectorSettings, hooks: Vec<Arc<dyn OnConnect>>) -> Connector {
        let connector = Connector::new(settings);
        connector.run(hooks);
        connector
    }

    /// The current session, waiting up to `wait` for one.
    pub async fn session(&self, wait: Duration) -> Result<Arc<Session>, Unavailable> {
        let mut rx = self.inner.session.subscribe();
        let found = tokio::time::timeout(wait, async {
            loop {
                if let Some(session) = rx.borrow_and_update().clone()
                    && !session.ended.is_cancelled()
                {
                    return Some(session);
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        match found {
            Ok(Some(session)) => Ok(session),
            _ => Err(Unavailable(wait)),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.inner
            .session
            .borrow()
            .as_ref()
            .is_some_and(|s| !s.ended.is_cancelled())
    }

    /// Ends a session that a user found broken (say, its channel closed); the
    /// supervisor reconnects.
    pub fn report_broken(&self, session: &Session) {
        session.ended.cancel();
    }

    /// Stops reconnecting and closes the connection.
    pub async fn close(&self) {
        self.inner.closing.cancel();
        let session = self.inner.session.borrow().clone();
        if let Some(session) = session {
            session.ended.cancel();
            let _ = session.connection.close(200, "shutdown".into()).await;
        }
    }
}

async fn supervise(inner: Arc<ConnectorInner>, hooks: Vec<Arc<dyn OnConnect>>) {
    let settings = &inner.settings;
    let mut delay = settings.reconnect_min;
    let mut generation = 0;
    while !inner.closing.is_cancelled() {
        generation += 1;
        match connect(settings, &hooks, generation).await {
            Ok((session, mut events)) => {
                tracing::info!(connection = %settings.connection_name, generation, "Connected to the broker.");
                delay = settings.reconnect_min;
                inner.session.send_replace(Some(session.clone()));
                tokio::select! {
                    _ = inner.closing.cancelled() => {}
                    _ = session.ended.cancelled() => {
                        if !inner.closing.is_cancelled() {
                            tracing::warn!(connection = %settings.connection_name, "Session ended by its user; reconnecting.");
                        }
                    }
                    error = next_error(&mut events) => {
                        tracing::warn!(connection = %settings.connection_name, %error, "Lost the broker connection; reconnecting.");
                    }
                }
                session.ended.cancel();
                inner.session.send_replace(None);
                if !inner.closing.is_cancelled() {
                    let _ = session.connection.close(320, "reconnecting".into()).await;
                }
            }
            Err(error) if error.to_string().contains("PRECONDITION_FAILED") => {
                tracing::error!(connection = %settings.connection_name, %error, ?delay,
                    "The namespace's queues exist with other arguments (another bus.queue_type, or \
                     the topology of an older version): `egovctl broker reset --namespace <ns>` \
                     deletes them; retrying.");
            }
            Err(error) if error.to_string().contains("ACCESS_REFUSED") => {
                tracing::error!(connection = %settings.connection_name, %error, ?delay,
                    "The broker user may not do this (see `egovctl broker definitions`); retrying.");
            }
            Err(error) => {
                tracing::warn!(connection = %settings.connection_name, %error, ?delay, "Cannot connect to the broker; retrying.");
            }
        }
        let jitter = delay.mul_f64(fastrand::f64() * 0.2);
        tokio::select! {
            _ = inner.closing.cancelled() => break,
            _ = tokio::time::sleep(delay + jitter) => {}
        }
        delay = (delay * 2).min(settings.reconnect_max);
    }
}

type Events = futures_util::stream::BoxStream<'static, lapin::Event>;

async fn connect(
    settings: &ConnectorSettings,
    hooks: &[Arc<dyn OnConnect>],
    generation: u64,
) -> lapin::Result<(Arc<Session>, Events)> {
    let properties = ConnectionProperties::default()
        .with_connection_name(settings.connection_name.clone().into());
    let connection = Connection::connect(
        secrecy::ExposeSecret::expose_secret(&settings.url),
        properties,
    )
    .await?;
    let events = connection.events_listener().boxed();
    let publisher = Publisher::open(&connection).await?;
    let session = Arc::new(Session {
        connection,
        publisher,
        generation,
        ended: CancellationToken::new(),
    });
    for hook in hooks {
        if let Err(error) = hook.on_connect(session.clone()).await {
            session.ended.cancel();
            let _ = session.connection.close(320, "setup failed".into()).await;
            return Err(error);
        }
    }
    Ok((session, events))
}

async fn next_error(events: &mut Events) -> String {
    while let Some(event) = events.next().await {
        if let lapin::Event::Error(error) = event {
            return error.to_string();
        }
    }
    "the connection's event stream ended".to_owned()
}
