-- +goose Up
-- The per-user index serves one reader, GET /me/security-events, which only lists security
-- actions. Indexing only those rows (the predicate is the query's own, so the planner uses it)
-- spares every money movement's audit row an index entry.
DROP INDEX audit_events_user;
CREATE INDEX audit_events_user_security ON audit_events (user_id, id DESC)
    WHERE (action LIKE 'auth.%' OR action LIKE 'twofa.%' OR action LIKE 'profile.%' OR action LIKE 'account.%' OR action LIKE 'password.%');

-- +goose Down
DROP INDEX audit_events_user_security;
CREATE INDEX audit_events_user ON audit_events (user_id, id DESC);
