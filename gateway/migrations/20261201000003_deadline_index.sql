-- Messages with a deadline (synchronous look-ups and their answers), by
-- deadline, for the sweep that settles those nobody reported on: a request
-- its receiver took and never answered (a registry switched to "down" with
-- the request in hand, a crash before the answer, an answer lost) stayed
-- QUEUED for good (issue 12, chaos). Only expires_at is indexed, which no
-- status change touches, so status updates stay heap-only (HOT) and the
-- index costs one entry per insert.
CREATE INDEX message_status_deadline ON message_status (expires_at)
    WHERE expires_at IS NOT NULL;
