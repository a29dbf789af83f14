-- The intake's own records: operators and their sessions (diagram 1,
-- process 1), requests from the counter (processes 2-6), the consent codes
-- and consents (seed 002 Rules p.9), the receipts (seed 002 App. 3, seed
-- 003 §9 1)), the provider's statuses and results and their hand-over
-- (process 9), and the SMS the recipient is sent.

CREATE TABLE operators (
    login text PRIMARY KEY,
    -- Argon2id, PHC string format (the salt and parameters inside).
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('operator', 'accumulation_sector', 'courier', 'issuing_operator')),
    iin text NOT NULL,
    full_name text NOT NULL,
    certificate bytea NOT NULL,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz
);

-- Only the SHA-256 of a session token is kept.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    login text NOT NULL REFERENCES operators,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE requests (
    -- The request number: on the receipts, and the message id of the
    -- request sent to the provider (sent once, whatever is retried).
    reference uuid PRIMARY KEY,
    regulation text NOT NULL,
    -- egov.intake.v1.Stage
    stage smallint NOT NULL,
    operator_login text NOT NULL REFERENCES operators,
    recipient_iin text NOT NULL,
    recipient_phone text NOT NULL,
    -- As ЖТ МДБ knows the recipient (process 3), empty before.
    recipient_surname text NOT NULL DEFAULT '',
    recipient_given_name text NOT NULL DEFAULT '',
    recipient_patronymic text NOT NULL DEFAULT '',
    representative_iin text,
    poa_number text,
    poa_date text,
    documents_present text[] NOT NULL,
    -- The draft egov.workstation.v1.Application (scans and form inside).
    draft bytea NOT NULL,
    consent_reference uuid,
    lookup_problem text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    checked_at timestamptz,
    accepted_at timestamptz,
    issue_at timestamptz,
    -- egov.intake.v1.ReceiptKind, the printable text and its CMS.
    receipt_kind smallint,
    receipt_text text,
    receipt_cms bytea,
    missing_documents text[] NOT NULL DEFAULT '{}',
    -- The CMS SignedData the operator signed (the request inside).
    signed_request bytea,
    journal_number text NOT NULL DEFAULT '',
    refusal_code text NOT NULL DEFAULT '',
    refusal_message text NOT NULL DEFAULT '',
    last_sequence integer NOT NULL DEFAULT 0,
    -- egov.workstation.v1.State of the result, its CMS as it came.
    result_state smallint,
    result_cms bytea,
    result_received_at timestamptz,
    issued_at timestamptz,
    issued_to_iin text,
    issued_by text,
    issued_on_poa text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX requests_by_recipient ON requests (recipient_iin, created_at DESC);

CREATE TABLE statuses (
    reference uuid NOT NULL REFERENCES requests,
    sequence integer NOT NULL,
    -- egov.workstation.v1.State
    state smallint NOT NULL,
    text text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (reference, sequence)
);

-- One open consent code per request.
CREATE TABLE consent_codes (
    reference uuid PRIMARY KEY REFERENCES requests,
    code text NOT NULL,
    phone text NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0
);

-- The recipient's consent to the use of protected personal data; its
-- reference travels in the envelope's header (consent_reference).
CREATE TABLE consents (
    reference uuid PRIMARY KEY,
    iin text NOT NULL,
    request uuid NOT NULL REFERENCES requests,
    given_at timestamptz NOT NULL DEFAULT now()
);

-- What the State Corporation sends by SMS, recorded where a tester can
-- read it.
CREATE TABLE sms (
    id bigserial PRIMARY KEY,
    phone text NOT NULL,
    reference uuid,
    text text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
