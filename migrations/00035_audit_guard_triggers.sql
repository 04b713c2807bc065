-- +goose Up
-- The same guarantees as audit_events_guard (migration 00030), decided by the trigger machinery
-- instead of a PL/pgSQL call on every sealed row: the sealer's UPDATE names only the chain
-- columns of unsealed rows, so neither trigger below fires for it, while
--   * an UPDATE naming any content column always fails, and
--   * an UPDATE naming a chain column of an already sealed row fails (no resealing).
-- Deletes and TRUNCATE still fail.
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_guard();
-- +goose StatementBegin
CREATE FUNCTION audit_events_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_content_frozen
    BEFORE UPDATE OF id, occurred_at, actor_type, actor_id, action, subject_type, subject_id, user_id, ip, user_agent, request_id, details
    ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
CREATE TRIGGER audit_events_sealed_once
    BEFORE UPDATE OF seq, prev_hash, hash, sealed_at ON audit_events
    FOR EACH ROW WHEN (OLD.seq IS NOT NULL) EXECUTE FUNCTION audit_events_refuse();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse();

-- +goose Down
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP TRIGGER audit_events_no_delete ON audit_events;
DROP TRIGGER audit_events_sealed_once ON audit_events;
DROP TRIGGER audit_events_content_frozen ON audit_events;
DROP FUNCTION audit_events_refuse();
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
