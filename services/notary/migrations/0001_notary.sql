-- БНАЖ (ЕНИС): notarised powers of attorney, and the catalogue of the
-- synthetic population's cases. The pool's search_path is the registry's
-- schema, so names are unqualified.

CREATE TABLE powers_of_attorney (
    number              text PRIMARY KEY,
    principal_iin       text NOT NULL CHECK (principal_iin ~ '^[0-9]{12}$'),
    representative_iin  text NOT NULL CHECK (representative_iin ~ '^[0-9]{12}$'),
    notary_name         text NOT NULL,
    notary_licence      text NOT NULL,
    issued_on           date NOT NULL,
    -- The last day in force.
    valid_until         date NOT NULL,
    -- Regulation codes of the services covered, or {'*'} for any.
    scope               text[] NOT NULL CHECK (cardinality(scope) > 0),
    revoked_on          date,
    CHECK (valid_until >= issued_on),
    CHECK (revoked_on IS NULL OR revoked_on >= issued_on),
    CHECK (principal_iin <> representative_iin)
);
CREATE INDEX powers_of_attorney_by_representative ON powers_of_attorney (representative_iin);

-- The catalogue of generated cases: `kind` is the answer a look-up gives
-- on the population's as-of date for this number, its representative and
-- `service_code`:
--   SELECT c.number, p.representative_iin, c.service_code
--   FROM cases c JOIN powers_of_attorney p USING (number)
--   WHERE c.kind = 'revoked' LIMIT 1;
CREATE TABLE cases (
    kind          text NOT NULL CHECK (kind IN ('valid', 'expired', 'revoked', 'out_of_scope')),
    number        text NOT NULL REFERENCES powers_of_attorney (number),
    service_code  text NOT NULL,
    PRIMARY KEY (kind, number)
);
