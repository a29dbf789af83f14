//! AMQP message properties of the mesh: persistent, typed, traced, and with
//! the delivery attempt in a header.

use egov_proto::envelope::{Header, Kind};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use std::time::Duration;

/// Header with the delivery attempt (1 = first).
pub const ATTEMPT: &str = "x-egov-attempt";
/// Header with why a message was dead-lettered.
pub const DEAD_REASON: &str = "x-egov-dead-reason";

/// Properties for publishing the envelope with this header.
pub fn properties(header: &Header, expiration: Option<Duration>, attempt: u32) -> BasicProperties {
    let mut headers = FieldTable::default();
    for (key, value) in egov_runtime::propagation::current_context_headers() {
        headers.insert(
            ShortString::from(key),
            AMQPValue::LongString(LongString::from(value)),
        );
    }
    headers.insert(ShortString::from(ATTEMPT), AMQPValue::LongUInt(attempt));
    let kind = Kind::try_from(header.kind)
        .map(|k| k.as_str_name())
        .unwrap_or("KIND_UNSPECIFIED");
    let mut properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/x-protobuf".into())
        .with_message_id(header.message_id.clone().into())
        .with_app_id(header.sender.clone().into())
        .with_type(kind.into())
        .with_timestamp(chrono::Utc::now().timestamp().max(0) as u64)
        .with_headers(headers);
    if let Some(expiration) = expiration {
        // At least 1 ms: "0" would mean "deliver now or drop".
        let ms = expiration.as_millis().max(1);
        properties = properties.with_expiration(ms.to_string().into());
    }
    properties
}

/// The delivery attempt recorded in the properties (1 when absent).
pub fn attempt(properties: &BasicProperties) -> u32 {
    header(properties, ATTEMPT)
        .and_then(|v| match v {
            AMQPValue::LongUInt(n) => Some(*n),
            AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
            AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
            AMQPValue::ShortUInt(n) => Some(u32::from(*n)),
            _ => None,
        })
        .unwrap_or(1)
}

/// Copies the properties with another attempt number and expiration, and a
/// reason (for dead letters). Built afresh: an expiration cannot be unset.
pub fn with_attempt(
    properties: &BasicProperties,
    attempt: u32,
    expiration: Option<Duration>,
    reason: Option<&str>,
) -> BasicProperties {
    let mut headers = properties.headers().clone().unwrap_or_default();
    headers.insert(ShortString::from(ATTEMPT), AMQPValue::LongUInt(attempt));
    if let Some(reason) = reason {
        let reason: String = reason.chars().take(1000).collect();
        headers.insert(
            ShortString::from(DEAD_REASON),
            AMQPValue::LongString(LongString::from(reason)),
        );
    }
    let mut copy = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/x-protobuf".into())
        .with_headers(headers);
    if let Some(id) = properties.message_id() {
        copy = copy.with_message_id(id.clone());
    }
    if let Some(app) = properties.app_id() {
        copy = copy.with_app_id(app.clone());
    }
    if let Some(kind) = properties.kind() {
        copy = copy.with_type(kind.clone());
    }
    if let Some(ts) = properties.timestamp() {
        copy = copy.with_timestamp(*ts);
    }
    if let Some(e) = expiration {
        copy = copy.with_expiration(e.as_millis().max(1).to_string().into());
    }
    copy
}

fn header<'a>(properties: &'a BasicProperties, key: &str) -> Option<&'a AMQPValue> {
    properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(key))
}

/// Makes the trace context carried in the properties the parent of `span`.
pub fn continue_trace(properties: &BasicProperties, span: &tracing::Span) {
    egov_runtime::propagation::set_parent_from(span, |key| match header(properties, key) {
        Some(AMQPValue::LongString(s)) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        _ => None,
    });
}
