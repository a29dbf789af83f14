//! The W3C trace context (`traceparent`, `tracestate`) carried across both
//! transports: AMQP message headers and gRPC metadata. The gateway re-injects
//! it when it forwards, so one trace shows portal → gateway → workstation.

use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The context of the current span as header pairs.
pub fn current_context_headers() -> Vec<(String, String)> {
    let cx = tracing::Span::current().context();
    let mut pairs = Pairs(Vec::new());
    TraceContextPropagator::new().inject_context(&cx, &mut pairs);
    pairs.0
}

/// The current span's `traceparent`, to keep with something done later (a
/// message in the outbox, an application whose steps come later), so the
/// later work continues this trace.
pub fn current_traceparent() -> Option<String> {
    current_context_headers()
        .into_iter()
        .find(|(key, _)| key == "traceparent")
        .map(|(_, value)| value)
}

/// Makes a kept `traceparent` the parent of `span` (nothing if none).
pub fn continue_from(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(traceparent) = traceparent {
        set_parent_from(span, |key| {
            (key == "traceparent").then(|| traceparent.to_owned())
        });
    }
}

/// Makes the context found in `get` the parent of `span`.
pub fn set_parent_from(span: &tracing::Span, get: impl Fn(&str) -> Option<String>) {
    let found: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|key| get(key).map(|value| (key.to_owned(), value)))
        .collect();
    if found.is_empty() {
        return;
    }
    let cx = TraceContextPropagator::new().extract(&found);
    let _ = span.set_parent(cx);
}

/// A span for one incoming gRPC request, child of the caller's context.
pub fn grpc_server_span(request: &tonic::codegen::http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!("grpc", path = %request.uri().path());
    set_parent_from(&span, |key| {
        request
            .headers()
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    span
}

/// A client interceptor that adds the current context to outgoing gRPC calls.
pub fn inject_grpc(mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    for (key, value) in current_context_headers() {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            request.metadata_mut().insert(key, value);
        }
    }
    Ok(request)
}

struct Pairs(Vec<(String, String)>);

impl Injector for Pairs {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

/// The W3C trace id of the current span, if it has one (for handlers that
/// want to link their own records to the trace).
pub fn current_trace_id() -> Option<String> {
    current_context_headers()
        .into_iter()
        .find(|(key, _)| key == "traceparent")
        .and_then(|(_, value)| value.split('-').nth(1).map(str::to_owned))
        .filter(|id| id.chars().any(|c| c != '0'))
}
