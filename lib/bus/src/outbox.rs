//! The outbox: messages a system sends inside its own transaction, which
//! exist if and only if that transaction commits. The relay sends them.

use egov_proto::envelope::Envelope;
use egov_proto::prost::Message;

/// Puts a sealed message in the outbox, inside the caller's transaction,
/// with the current span's trace context, which the relay continues.
pub(crate) async fn insert(
    db: &mut sqlx::PgConnection,
    message_id: uuid::Uuid,
    sealed: &Envelope,
) -> Result<(), sqlx::Error> {
    let traceparent = egov_runtime::propagation::current_traceparent();
    sqlx::query("INSERT INTO bus_outbox (message_id, envelope, traceparent) VALUES ($1, $2, $3)")
        .bind(message_id)
        .bind(sealed.encode_to_vec())
        .bind(traceparent)
        .execute(db)
        .await
        .map(|_| ())
}
