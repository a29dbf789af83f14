-- message_status_open (20261201000001) indexed the messages not yet final
-- for the end-of-run checks; every status change moved rows in and out of
-- it, a cost on the hot path for a query only tests and the bench run.
DROP INDEX IF EXISTS message_status_open;
