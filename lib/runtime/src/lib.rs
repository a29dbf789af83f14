//! What every service of the mesh runs on.
//!
//! # Layout
//! - [`settings`]: layered, typed, validated settings (file, then `EGOV__…`,
//!   then `EGOV_<SERVICE>__…` environment variables);
//! - [`telemetry`]: tracing with an OpenTelemetry layer, exported over OTLP
//!   when an endpoint is configured;
//! - [`propagation`]: the W3C trace context in AMQP headers and gRPC metadata;
//! - [`shutdown`]: SIGTERM / SIGINT to a cancellation token;
//! - [`service`]: the one runner every service starts through (listener,
//!   health from probes, reflection, background tasks, graceful shutdown);
//! - [`refusal`]: the one refusal vocabulary (code, field, words) and its
//!   mappings to gRPC (ErrorInfo) and to the envelope's Rejection;
//! - [`grpc`]: the request size limit (`grpc.max_message_bytes`, refused
//!   with `payload_too_large`) and serving with graceful shutdown;
//! - [`metrics`]: Prometheus metrics, one registry per service served by
//!   the runner at `GET /metrics` on a port of its own;
//! - [`database`]: a PostgreSQL pool confined to the service's own schema;
//! - [`trust`]: the service's identity and trust store from settings;
//! - [`tls`]: mutual TLS on the gRPC ports (`grpc.tls`), the caller's
//!   identity for handlers ([`tls::peer_identity`]), and the client side
//!   every caller of a port uses ([`tls::endpoint`]).

pub mod database;
pub mod grpc;
pub mod limit;
pub mod metrics;
pub mod propagation;
pub mod refusal;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod trust;

pub use tokio_util::sync::CancellationToken;
