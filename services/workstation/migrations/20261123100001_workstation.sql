-- The provider's workstation (ЭҮАШ АЖО): its staff, their sessions, the
-- journal of registered applications, the staff procedure of each
-- application with its due times and its step log, and the signed results.
-- Every state change and the messages it causes (statuses, results) are
-- written in one transaction, the messages into the bus outbox.

-- Employees of the provider (seed 001 p.7, seed 003 §7, seed 004 ¶7: office
-- clerk, head, specialist, responsible person). The password is kept as a
-- PBKDF2-HMAC-SHA256 hash with a per-user random salt; the EDS certificate
-- is the one the mesh CA issued to the employee (IIN, the provider's BIN).
CREATE TABLE employees (
    id bigserial PRIMARY KEY,
    login text NOT NULL UNIQUE,
    -- "pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>"
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('office_clerk', 'head', 'specialist', 'responsible_person')),
    iin text NOT NULL,
    full_name text NOT NULL,
    certificate bytea NOT NULL,
    active boolean NOT NULL DEFAULT true,
    enrolled_at timestamptz NOT NULL DEFAULT now()
);

-- Sessions of the gRPC API: only the SHA-256 of the bearer token is kept.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    employee_id bigint NOT NULL REFERENCES employees (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- The journal: one row per registered application (diagram 2 process 6,
-- diagram 1 process 7, diagram 3 processes 4-6), numbered in order.
CREATE SEQUENCE journal_number_seq;
CREATE TABLE applications (
    id uuid PRIMARY KEY,
    journal_number text NOT NULL UNIQUE,
    registered_at timestamptz NOT NULL,
    regulation text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('portal', 'state_corporation', 'provider_office')),
    -- Where statuses and the result go: the sending system, or 'office'
    -- when the application was entered at the provider's office.
    origin text NOT NULL CHECK (origin IN ('portal', 'intake', 'office')),
    conversation_id text NOT NULL,
    -- The "submit-application" message it came in; null for the office.
    message_id uuid UNIQUE,
    reference text NOT NULL DEFAULT '',
    acting_user text NOT NULL DEFAULT '',
    applicant_iin text NOT NULL,
    applicant_name text NOT NULL,
    -- The egov.workstation.v1.Application exactly as received.
    payload bytea NOT NULL,
    state text NOT NULL CHECK (state IN ('in_progress', 'issued', 'refused')),
    -- The position of the next task (applications_tasks.position); 0 when
    -- the procedure is over.
    current_position integer NOT NULL,
    assigned_to bigint REFERENCES employees (id),
    -- The specialist's draft (a serialized ResultDocument, unsigned), and
    -- whether it approves or refuses.
    decision text CHECK (decision IN ('approve', 'refuse')),
    draft bytea,
    result_expected_at timestamptz,
    -- The sequence number of the last status sent (ApplicationStatus.sequence).
    status_sequence integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- An application resent under a new message id in the same conversation
-- is the same application.
CREATE UNIQUE INDEX applications_conversation ON applications (origin, conversation_id)
    WHERE origin <> 'office';
CREATE INDEX applications_open ON applications (updated_at) WHERE state = 'in_progress';

-- The documents of the Standard's item 9, as received (bytes and hash).
CREATE TABLE application_documents (
    application_id uuid NOT NULL REFERENCES applications (id),
    code text NOT NULL,
    name text NOT NULL,
    media_type text NOT NULL,
    sha256 bytea NOT NULL,
    content bytea,
    PRIMARY KEY (application_id, code)
);

-- The staff procedure of each application, planned at registration from
-- the regulation's steps and stages and the working calendar, and the step
-- log: who did each task, when, against which due time.
CREATE TABLE application_tasks (
    application_id uuid NOT NULL REFERENCES applications (id),
    position integer NOT NULL,
    step integer NOT NULL,
    stage text NOT NULL CHECK (stage IN ('register', 'assign', 'examine', 'sign', 'issue')),
    role text NOT NULL,
    action text NOT NULL,
    source text NOT NULL,
    due_at timestamptz,
    done_at timestamptz,
    done_by bigint REFERENCES employees (id),
    by_autopilot boolean NOT NULL DEFAULT false,
    note text NOT NULL DEFAULT '',
    PRIMARY KEY (application_id, position)
);
CREATE INDEX application_tasks_open ON application_tasks (due_at) WHERE done_at IS NULL;

-- Signed results: the exact bytes signed and sent, the head's signature
-- and certificate.
CREATE TABLE results (
    application_id uuid PRIMARY KEY REFERENCES applications (id),
    kind text NOT NULL,
    result_code text NOT NULL,
    content bytea NOT NULL,
    signature bytea NOT NULL,
    signer_certificate bytea NOT NULL,
    signed_by bigint REFERENCES employees (id),
    signed_at timestamptz NOT NULL,
    issued_at timestamptz,
    -- The "application-result" message that carried it.
    message_id uuid,
    -- Seed 002 Rules p.11: the State Corporation handed an unclaimed
    -- result back to the provider after one month.
    returned_at timestamptz
);
