-- +goose Up
-- Unsealed rows (seq NULL) need no entry in the chain-order index: a partial unique index keeps
-- the request path's insert one index lighter and still guards one row per place in the chain.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_seq_key;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq) WHERE seq IS NOT NULL;

-- +goose Down
DROP INDEX audit_events_seq;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_seq_key UNIQUE (seq);
