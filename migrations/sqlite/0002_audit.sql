-- The audit trail (issue 4): hash-chained records, signed checkpoints, and the head the next
-- append continues from. Append-only: never edit this file once landed.
-- Records and checkpoints refuse UPDATE and DELETE (triggers below); verification walks the
-- records themselves and never trusts audit_head.

CREATE TABLE audit_records (
    seq            INTEGER PRIMARY KEY,
    time           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    token_id       TEXT,
    channel        TEXT NOT NULL CHECK (channel IN ('cli', 'mcp', 'rest')),
    action         TEXT NOT NULL,
    target         TEXT NOT NULL,
    params         TEXT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('denied', 'failed', 'ok')),
    status         INTEGER,
    result_digest  TEXT,
    rows           INTEGER,
    purpose        TEXT,
    client_addr    TEXT,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_records_time ON audit_records (time);
CREATE INDEX audit_records_actor ON audit_records (actor, seq);

CREATE TABLE audit_checkpoints (
    seq         INTEGER PRIMARY KEY,
    head_hash   TEXT NOT NULL,
    time        TEXT NOT NULL,
    signature   TEXT NOT NULL,
    public_key  TEXT NOT NULL
);

-- One row: the sequence number and hash of the last record. Every append updates it first,
-- which takes the database's write lock, so concurrent appends are serialised.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only: UPDATE refused'); END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only: DELETE refused'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only: UPDATE refused'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only: DELETE refused'); END;
