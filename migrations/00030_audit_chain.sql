-- +goose Up
-- The audit log is append-only: rows are inserted by the transaction that makes the change, and
-- the only update ever allowed is the sealer filling in a row's place in the hash chain once.
-- +goose StatementBegin
CREATE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    IF OLD.seq IS NOT NULL
       OR (NEW.id, NEW.occurred_at, NEW.actor_type, NEW.actor_id, NEW.action, NEW.subject_type, NEW.subject_id,
           NEW.user_id, NEW.ip, NEW.user_agent, NEW.request_id, NEW.details)
          IS DISTINCT FROM
          (OLD.id, OLD.occurred_at, OLD.actor_type, OLD.actor_id, OLD.action, OLD.subject_type, OLD.subject_id,
           OLD.user_id, OLD.ip, OLD.user_agent, OLD.request_id, OLD.details) THEN
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_guard();

-- The head of the global chain: one row, locked by the single sealer.
CREATE TABLE audit_chain_head (
    id   int PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- +goose Down
DROP TABLE audit_chain_head;
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_guard();
