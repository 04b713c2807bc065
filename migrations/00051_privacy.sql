-- +goose Up
-- Personal data erasure after closure (issue 22, point 5). closed_at is when the account reached
-- `closed` (the status change's updated_at, which the service takes from its clock); erased_at
-- is when the erasure worker pseudonymized it. An account is due once closed_at is older than
-- ERASURE_RETENTION; money rows (ledger) are never touched by the erasure.
ALTER TABLE users ADD COLUMN closed_at timestamptz, ADD COLUMN erased_at timestamptz;
UPDATE users SET closed_at = updated_at WHERE status = 'closed';
CREATE INDEX users_erasure_due ON users (closed_at) WHERE status = 'closed' AND erased_at IS NULL;

-- Every path that closes an account (the internal API, an operator's SQL) stamps closed_at.
-- +goose StatementBegin
CREATE FUNCTION users_stamp_closed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'closed' AND OLD.status IS DISTINCT FROM 'closed' AND NEW.closed_at IS NULL THEN
        NEW.closed_at := NEW.updated_at;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER users_stamp_closed_at BEFORE UPDATE OF status ON users
    FOR EACH ROW EXECUTE FUNCTION users_stamp_closed_at();

-- +goose Down
DROP TRIGGER users_stamp_closed_at ON users;
DROP FUNCTION users_stamp_closed_at();
DROP INDEX users_erasure_due;
ALTER TABLE users DROP COLUMN erased_at, DROP COLUMN closed_at;
