-- Message log archives (issue 13 point 5, as X-Road's archiver): old rows
-- leave message_log for signed archive files that continue the hash chain.
--
-- One row per archive file, in chain order. The chain of anchors is kept
-- by the database itself: an archive starts right after the previous one
-- (first_seq) and from its last hash (prev_hash). VerifyLog starts from
-- the last one's last_hash.
CREATE TABLE log_archives (
    first_seq bigint PRIMARY KEY,
    last_seq bigint NOT NULL UNIQUE,
    -- The chain's hash before first_seq and after last_seq.
    prev_hash bytea NOT NULL,
    last_hash bytea NOT NULL,
    row_count bigint NOT NULL,
    -- The file's name in the gateway's archive directory, its SHA-256 and size.
    file text NOT NULL UNIQUE,
    sha256 bytea NOT NULL,
    size_bytes bigint NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now(),
    CHECK (last_seq >= first_seq AND row_count = last_seq - first_seq + 1)
);

CREATE FUNCTION log_archives_continue_the_chain() RETURNS trigger
    SET search_path FROM CURRENT
AS $$
DECLARE
    previous log_archives;
BEGIN
    SELECT * INTO previous FROM log_archives ORDER BY last_seq DESC LIMIT 1;
    IF previous.last_seq IS NULL THEN
        IF NEW.first_seq <> 1 OR NEW.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
            RAISE EXCEPTION 'the first archive must start at row 1 from the zero hash';
        END IF;
    ELSIF NEW.first_seq <> previous.last_seq + 1 OR NEW.prev_hash <> previous.last_hash THEN
        RAISE EXCEPTION 'archive % does not continue archive % (rows %..%)',
            NEW.file, previous.file, previous.first_seq, previous.last_seq;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER log_archives_continue_the_chain
    BEFORE INSERT ON log_archives
    FOR EACH ROW EXECUTE FUNCTION log_archives_continue_the_chain();

-- What stays in the database of an archived row: everything but its
-- envelope (the bulk, and the personal data in the payload) and its
-- previous hash, so Trace, GetStatus and the duplicate and answer checks
-- answer as before, and the evidence export knows which file holds a row.
CREATE TABLE archived_log (
    seq bigint PRIMARY KEY,
    archive bigint NOT NULL REFERENCES log_archives (first_seq),
    logged_at timestamptz NOT NULL,
    message_id uuid,
    kind smallint NOT NULL,
    sender text NOT NULL,
    receiver text NOT NULL,
    service text NOT NULL,
    conversation_id text NOT NULL,
    correlation_id text NOT NULL,
    verdict text NOT NULL,
    detail text NOT NULL,
    row_hash bytea NOT NULL
);
CREATE INDEX archived_log_conversation ON archived_log (conversation_id, seq)
    WHERE conversation_id <> '';
CREATE INDEX archived_log_message ON archived_log (message_id);

CREATE FUNCTION archives_are_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER log_archives_append_only
    BEFORE UPDATE OR DELETE ON log_archives
    FOR EACH ROW EXECUTE FUNCTION archives_are_append_only();
CREATE TRIGGER archived_log_append_only
    BEFORE UPDATE OR DELETE ON archived_log
    FOR EACH ROW EXECUTE FUNCTION archives_are_append_only();

-- The log's trigger allows exactly one deletion: by the archiver, which
-- says so for its transaction (SET LOCAL egov.archiving = 'on'), of a row
-- it has already recorded, with the same hash, as in an archive whose range
-- holds it (archived_log, which references its log_archives row). Every UPDATE,
-- and every other DELETE, is refused as before.
CREATE OR REPLACE FUNCTION message_log_append_only() RETURNS trigger
    SET search_path FROM CURRENT
AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('egov.archiving', true) = 'on'
       AND EXISTS (SELECT 1 FROM archived_log a
                   JOIN log_archives f ON f.first_seq = a.archive
                   WHERE a.seq = OLD.seq AND a.row_hash = OLD.row_hash
                     AND OLD.seq BETWEEN f.first_seq AND f.last_seq)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'message_log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;

-- Row triggers do not see TRUNCATE.
CREATE FUNCTION log_truncate_refused() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER message_log_no_truncate
    BEFORE TRUNCATE ON message_log
    FOR EACH STATEMENT EXECUTE FUNCTION log_truncate_refused();
CREATE TRIGGER log_archives_no_truncate
    BEFORE TRUNCATE ON log_archives
    FOR EACH STATEMENT EXECUTE FUNCTION log_truncate_refused();
CREATE TRIGGER archived_log_no_truncate
    BEFORE TRUNCATE ON archived_log
    FOR EACH STATEMENT EXECUTE FUNCTION log_truncate_refused();
