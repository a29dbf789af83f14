-- Storage of unclaimed results (seed 002 Rules p.11; seed 003 §10 2)): when
-- the result arrived by the storage clock, until when it is kept (one
-- calendar month later), and when it went back to the provider.
ALTER TABLE requests
    ADD COLUMN result_arrived_at timestamptz,
    ADD COLUMN keep_until timestamptz,
    ADD COLUMN returned_at timestamptz;
CREATE INDEX requests_kept_until ON requests (keep_until) WHERE issued_at IS NULL;
