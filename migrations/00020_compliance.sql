-- +goose Up
-- Compliance (DESIGN §6): KYC/KYB cases with an explicit, persisted state machine, their
-- documents (objects in storage, only the key and the facts about the bytes here), and account
-- restrictions.

-- A business account sends money under an approved KYB; a personal account under an approved KYC.
ALTER TABLE users ADD COLUMN account_type text NOT NULL DEFAULT 'personal'
    CHECK (account_type IN ('personal', 'business'));

-- One case per (user, kind). Rows are created on first write; a user without a row is
-- `not_started`. The status only changes through the service's transition table; every change
-- is also a compliance_case_history row.
CREATE TABLE compliance_cases (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    kind            text NOT NULL CHECK (kind IN ('kyc', 'kyb')),
    status          text NOT NULL DEFAULT 'not_started'
        CHECK (status IN ('not_started', 'submitted', 'under_review', 'approved', 'rejected', 'info_requested')),
    -- The last reviewer's message to the user (rejection or information request).
    decision_reason text,
    submitted_at    timestamptz,
    decided_at      timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (user_id, kind)
);
-- Keyset pagination of the review queue by status.
CREATE INDEX compliance_cases_status ON compliance_cases (status, id);

-- Every transition: who, why, when. Append-only.
CREATE TABLE compliance_case_history (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES compliance_cases (id),
    from_status text NOT NULL,
    to_status   text NOT NULL,
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'internal_key')),
    actor_id    text NOT NULL,
    reason      text,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX compliance_case_history_case ON compliance_case_history (case_id, id);

-- +goose StatementBegin
CREATE FUNCTION compliance_case_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'compliance_case_history is append-only' USING ERRCODE = 'restrict_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER compliance_case_history_append_only BEFORE UPDATE OR DELETE ON compliance_case_history
    FOR EACH ROW EXECUTE FUNCTION compliance_case_history_append_only();

-- KYC personal data as submitted (prefilled from the profile).
CREATE TABLE compliance_kyc_data (
    case_id       bigint PRIMARY KEY REFERENCES compliance_cases (id),
    first_name    text NOT NULL,
    last_name     text NOT NULL,
    birth_date    date NOT NULL,
    nationality   text NOT NULL,
    country       text NOT NULL,
    address_line1 text NOT NULL,
    address_line2 text,
    city          text NOT NULL,
    postal_code   text NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- KYB company data. beneficial_owners is a JSON array of {first_name, last_name, birth_date,
-- nationality, ownership_percent}, validated by the service.
CREATE TABLE compliance_kyb_data (
    case_id             bigint PRIMARY KEY REFERENCES compliance_cases (id),
    legal_name          text NOT NULL,
    registration_number text NOT NULL,
    country             text NOT NULL,
    beneficial_owners   jsonb NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- Documents: the object lives in storage under storage_key; the row keeps what was checked.
CREATE TABLE compliance_documents (
    id          bigserial PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES compliance_cases (id),
    kind        text NOT NULL CHECK (kind IN ('identity_document', 'proof_of_address', 'selfie',
                                              'company_registration', 'beneficial_owner_declaration')),
    storage_key text NOT NULL UNIQUE,
    sha256      bytea NOT NULL CHECK (length(sha256) = 32),
    mime_type   text NOT NULL CHECK (mime_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size_bytes  bigint NOT NULL CHECK (size_bytes > 0),
    created_at  timestamptz NOT NULL
);
CREATE INDEX compliance_documents_case ON compliance_documents (case_id, id);

-- Restrictions: an active one (lifted_at IS NULL) stops outgoing money; reading and receiving stay.
CREATE TABLE compliance_restrictions (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    reason      text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    lifted_at   timestamptz,
    lifted_by   text,
    lift_reason text
);
CREATE INDEX compliance_restrictions_active ON compliance_restrictions (user_id) WHERE lifted_at IS NULL;

-- +goose Down
DROP TABLE compliance_restrictions;
DROP TABLE compliance_documents;
DROP TABLE compliance_kyb_data;
DROP TABLE compliance_kyc_data;
DROP TABLE compliance_case_history;
DROP FUNCTION compliance_case_history_append_only();
DROP TABLE compliance_cases;
ALTER TABLE users DROP COLUMN account_type;
