-- Receipts about messages that did not (yet) succeed — retrying, dead-lettered,
-- expired — kept until the relay has handed them to the gateway, so a crash
-- cannot leave a message's status behind where the message is.
CREATE TABLE bus_receipts (
    id bigserial PRIMARY KEY,
    message_id uuid NOT NULL,
    status smallint NOT NULL,
    code text NOT NULL,
    detail text NOT NULL,
    attempt integer NOT NULL,
    service text NOT NULL,
    conversation_id text NOT NULL,
    correlation_id text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
