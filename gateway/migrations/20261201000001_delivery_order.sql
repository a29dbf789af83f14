-- The order of a message's delivery lifecycle, in one place for every
-- statement that moves a status (issue 8: a batch holding "delivered" and
-- "processed" for one message must end at "processed", whatever the order).
--
--   1 queued
--   2 delivered, retrying (the attempt breaks ties: a later attempt wins)
--   3 expired, dead-lettered: the gateway's or the receiver's queues gave up
--   4 processed, rejected: the receiver's own verdict, final
--
-- A receiver's verdict outranks a queue's failure: a message whose delivery
-- confirm was lost (dead-lettered by the gateway) but which the receiver did
-- process was processed.
CREATE FUNCTION delivery_rank(status smallint) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE status
        WHEN 1 THEN 1
        WHEN 2 THEN 2 WHEN 7 THEN 2
        WHEN 5 THEN 3 WHEN 6 THEN 3
        WHEN 3 THEN 4 WHEN 4 THEN 4
        ELSE 0
    END;

-- Messages whose status is not final, for the checks that every message
-- settled (tests, bench, operators).
CREATE INDEX message_status_open ON message_status (updated_at)
    WHERE status IN (1, 2, 7);

-- Whether the sender has been sent (and the broker confirmed) the message's
-- final status. Status reports are gathered in memory; a report lost with a
-- broker drop or a crash is sent again by the notifier's sweep, so an AMQP
-- sender hears how every message ended, not only GetStatus.
ALTER TABLE message_status ADD COLUMN final_reported boolean NOT NULL DEFAULT false;
CREATE INDEX message_status_unreported ON message_status (updated_at)
    WHERE notify_sender AND reply_queue IS NULL AND NOT final_reported AND status IN (3, 4, 5, 6);
