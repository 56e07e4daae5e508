-- PostgreSQL dialect of migrations/sqlite/0009_agent_tokens.sql (same table, same columns).
-- Bearer tokens of AI agents on the agent listener (issue 7). A token acts for one principal,
-- for a stated purpose, with a set of scopes and optional narrowing to GTINs, a lot or an
-- investigation; it expires (at most 24 h after issue) and can be revoked. Only the SHA-256 of
-- the token is stored: the token itself is printed once, by `dscsa agents token issue`.
-- Append-only: never edit this file once landed.

CREATE TABLE agent_tokens (
    id             TEXT PRIMARY KEY,
    secret_sha256  TEXT NOT NULL UNIQUE,
    principal_id   TEXT NOT NULL REFERENCES principals (id),
    scopes         TEXT NOT NULL,
    gtins          TEXT NOT NULL,
    lot            TEXT,
    investigation  TEXT,
    purpose        TEXT NOT NULL,
    issued_by      TEXT NOT NULL,
    issued_at      TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT
);
CREATE INDEX agent_tokens_principal ON agent_tokens (principal_id, issued_at);
