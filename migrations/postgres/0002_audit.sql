-- The audit trail (issue 4): hash-chained records, signed checkpoints, and the head the next
-- append continues from. Append-only: never edit this file once landed.
-- Records and checkpoints refuse UPDATE, DELETE and TRUNCATE (triggers below). In production
-- the application's role should also lack those privileges (README, "Audit trail").

CREATE TABLE audit_records (
    seq            BIGINT PRIMARY KEY,
    time           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    token_id       TEXT,
    channel        TEXT NOT NULL CHECK (channel IN ('cli', 'mcp', 'rest')),
    action         TEXT NOT NULL,
    target         TEXT NOT NULL,
    params         TEXT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('denied', 'failed', 'ok')),
    status         BIGINT,
    result_digest  TEXT,
    rows           BIGINT,
    purpose        TEXT,
    client_addr    TEXT,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_records_time ON audit_records (time);
CREATE INDEX audit_records_actor ON audit_records (actor, seq);

CREATE TABLE audit_checkpoints (
    seq         BIGINT PRIMARY KEY,
    head_hash   TEXT NOT NULL,
    time        TEXT NOT NULL,
    signature   TEXT NOT NULL,
    public_key  TEXT NOT NULL
);

-- One row: the last record's sequence number and hash. Every append updates it first, which
-- locks the row until commit, so concurrent appends (across server replicas too) serialise.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION dscsa_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;

CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_append_only();
