-- The paper path (seed 003 §9 2)-5); seed 004 services 1-4 and 6, process
-- 6 "or on paper by courier"): the paper documents accepted at the counter
-- go to the accumulation sector, which registers them by the receipt's
-- barcode and hands them to the courier, who delivers them to the provider.
-- Each step is a column set once (NULL until it happens), with who did it.
CREATE TABLE packages (
    reference uuid PRIMARY KEY REFERENCES requests,
    -- The receipt's barcode: the request number, upper case.
    barcode text NOT NULL UNIQUE,
    regulation text NOT NULL,
    -- The provider the package is sorted to.
    direction text NOT NULL,
    documents text[] NOT NULL,
    accepted_at timestamptz NOT NULL,
    scanned_at timestamptz,
    scanned_by text REFERENCES operators,
    handed_at timestamptz,
    handed_by text REFERENCES operators,
    courier text REFERENCES operators,
    delivered_at timestamptz,
    received_by text,
    CHECK (handed_at IS NULL OR scanned_at IS NOT NULL),
    CHECK (delivered_at IS NULL OR handed_at IS NOT NULL)
);
CREATE INDEX packages_waiting ON packages (accepted_at) WHERE delivered_at IS NULL;

-- The electronic queue (seed 002 Standard row 7): talons taken at the
-- branch or booked through the portal, numbered per branch, day and kind.
CREATE TABLE talons (
    id bigserial PRIMARY KEY,
    branch text NOT NULL,
    -- The branch's local date the number counts in.
    day date NOT NULL,
    -- 'A' walk-in, 'B' booked.
    series text NOT NULL CHECK (series IN ('A', 'B')),
    seq integer NOT NULL,
    iin text NOT NULL,
    regulation text NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now(),
    booked_for timestamptz,
    -- When it may be called: taken_at for a walk-in, booked_for for a booking.
    due_at timestamptz NOT NULL,
    called_at timestamptz,
    called_by text REFERENCES operators,
    UNIQUE (branch, day, series, seq)
);
CREATE INDEX talons_waiting ON talons (branch, due_at, id) WHERE called_at IS NULL;
