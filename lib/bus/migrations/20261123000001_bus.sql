-- The bus's bookkeeping in each system's schema.

-- Every message this system has processed, by id: a redelivered or
-- duplicated message is recognised here and not handled twice. The row is
-- written in the handler's own transaction.
CREATE TABLE bus_processed_messages (
    message_id uuid PRIMARY KEY,
    sender text NOT NULL,
    service text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    -- The gateway has not yet been told "processed".
    receipt_pending boolean NOT NULL
);
CREATE INDEX bus_processed_messages_pending
    ON bus_processed_messages (processed_at) WHERE receipt_pending;

-- Messages caused by a state change, written in the same transaction and
-- sent by the relay after the commit.
CREATE TABLE bus_outbox (
    id bigserial PRIMARY KEY,
    message_id uuid NOT NULL UNIQUE,
    envelope bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
