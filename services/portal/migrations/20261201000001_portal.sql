-- The portal's own records: citizens and their sessions (pre-step, process 1),
-- consents (seed 002 Rules p.9), applications with the citizen's signature
-- (process 5), and the cabinet: statuses, results, notifications (processes 6-8).

CREATE TABLE citizens (
    iin text PRIMARY KEY,
    surname text NOT NULL,
    given_name text NOT NULL,
    patronymic text NOT NULL DEFAULT '',
    phone text NOT NULL,
    -- Argon2id, PHC string format (the salt and parameters inside).
    password_hash text NOT NULL,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 of a session token is kept: a leaked table logs no one in.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    iin text NOT NULL REFERENCES citizens,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE eds_challenges (
    id uuid PRIMARY KEY,
    challenge bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);

-- The subject's consent to the use of protected personal data; its
-- reference travels in the envelope's header (consent_reference).
CREATE TABLE consents (
    reference uuid PRIMARY KEY,
    iin text NOT NULL,
    purpose text NOT NULL,
    given_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE applications (
    -- The portal's request number, also the envelope's message id: one
    -- signed application is sent once, whatever is retried.
    reference uuid PRIMARY KEY,
    iin text NOT NULL REFERENCES citizens,
    regulation text NOT NULL,
    consent_reference uuid NOT NULL REFERENCES consents,
    -- The CMS SignedData the citizen sent (the application inside).
    signed_application bytea NOT NULL,
    -- egov.portal.v1.Stage
    stage smallint NOT NULL,
    submitted_at timestamptz NOT NULL,
    journal_number text NOT NULL DEFAULT '',
    result_expected_at timestamptz,
    refusal_code text NOT NULL DEFAULT '',
    refusal_message text NOT NULL DEFAULT '',
    -- The highest status sequence seen (statuses may arrive out of order).
    last_sequence integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applications_by_citizen ON applications (iin, submitted_at DESC);

CREATE TABLE application_statuses (
    reference uuid NOT NULL REFERENCES applications,
    sequence integer NOT NULL,
    -- egov.workstation.v1.State
    state smallint NOT NULL,
    text text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (reference, sequence)
);

CREATE TABLE results (
    reference uuid PRIMARY KEY REFERENCES applications,
    -- egov.workstation.v1.State: issued or refused.
    state smallint NOT NULL,
    -- The provider's CMS SignedData (the ResultDocument inside).
    cms bytea NOT NULL,
    issued_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- What egov.kz sends by SMS, recorded where a tester can read it.
CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    iin text NOT NULL,
    phone text NOT NULL,
    reference uuid,
    text text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_by_citizen ON notifications (iin, id);
