-- The gateway's message log: one row per envelope it received, accepted or
-- refused, in order. Append-only (a trigger refuses UPDATE and DELETE) and
-- hash-chained: each row's hash covers the previous row's hash and the row's
-- own content, so a row changed behind the gateway's back breaks the chain
-- from that row on (VerifyLog finds it).
CREATE TABLE message_log (
    seq bigint PRIMARY KEY,
    logged_at timestamptz NOT NULL,
    -- Null only when the envelope was too malformed to name one.
    message_id uuid,
    kind smallint NOT NULL,
    sender text NOT NULL,
    receiver text NOT NULL,
    service text NOT NULL,
    conversation_id text NOT NULL,
    correlation_id text NOT NULL,
    -- 'accepted', or the rejection code.
    verdict text NOT NULL,
    detail text NOT NULL,
    -- The envelope exactly as received.
    envelope bytea NOT NULL,
    prev_hash bytea NOT NULL,
    row_hash bytea NOT NULL
);
CREATE INDEX message_log_conversation ON message_log (conversation_id, seq)
    WHERE conversation_id <> '';
CREATE INDEX message_log_message ON message_log (message_id);

CREATE FUNCTION message_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'message_log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER message_log_append_only
    BEFORE UPDATE OR DELETE ON message_log
    FOR EACH ROW EXECUTE FUNCTION message_log_append_only();

-- The end of the chain; locked by each batch, so log writers take turns.
CREATE TABLE log_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO log_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- The delivery status of every accepted message (a refused one has only its
-- log row: it must not claim a message id).
CREATE TABLE message_status (
    message_id uuid PRIMARY KEY,
    sender text NOT NULL,
    receiver text NOT NULL,
    service text NOT NULL,
    kind smallint NOT NULL,
    conversation_id text NOT NULL,
    correlation_id text NOT NULL,
    -- SHA-256 of the signed bytes: tells a retransmission from a different
    -- message under the same id, and checks an answer's request_hash.
    signed_hash bytea NOT NULL,
    -- Where answers to this request go: a caller's reply queue, or null for
    -- the sender's inbox.
    reply_queue text,
    expires_at timestamptz,
    -- Whether the sender hears status changes (AMQP senders do; gRPC
    -- partners ask with GetStatus).
    notify_sender boolean NOT NULL,
    -- DeliveryStatus values of envelope.proto.
    status smallint NOT NULL,
    code text NOT NULL DEFAULT '',
    detail text NOT NULL DEFAULT '',
    attempts integer NOT NULL DEFAULT 1,
    log_seq bigint NOT NULL,
    queued_at timestamptz NOT NULL,
    delivered_at timestamptz,
    processed_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE INDEX message_status_conversation ON message_status (conversation_id)
    WHERE conversation_id <> '';
