-- FDA records requests (issue 8): each request as received (who, which products, which
-- period, the 24-hour deadline), the package produced for it, and the events that package
-- holds (a regulator's visibility: `partners::visibility`, `Fragment::RequestedBy`).
-- Append-only: never edit this file once landed. A request row moves from `pending` to
-- `ready` or `failed`; packages and their event lists refuse UPDATE and DELETE, and no
-- request is ever deleted (DSCSA retention, six years).

CREATE TABLE fda_records_requests (
    id              TEXT PRIMARY KEY,
    reference       TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('cli', 'mcp', 'rest')),
    regulator       TEXT,
    products        TEXT NOT NULL,
    from_time       TEXT,
    to_time         TEXT,
    received_at     TEXT NOT NULL,
    deadline        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    completed_at    TEXT,
    error           TEXT,
    package_sha256  TEXT,
    package_bytes   INTEGER
);
CREATE INDEX fda_records_requests_regulator ON fda_records_requests (regulator) WHERE regulator IS NOT NULL;

CREATE TABLE fda_packages (
    request_id   TEXT PRIMARY KEY REFERENCES fda_records_requests (id),
    produced_at  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    content      BLOB NOT NULL
);

CREATE TABLE fda_request_events (
    event       INTEGER NOT NULL,
    request_id  TEXT NOT NULL REFERENCES fda_records_requests (id),
    PRIMARY KEY (event, request_id)
);

CREATE TRIGGER fda_records_requests_no_delete BEFORE DELETE ON fda_records_requests
BEGIN SELECT RAISE(ABORT, 'fda_records_requests is append-only: DELETE refused'); END;
CREATE TRIGGER fda_packages_no_update BEFORE UPDATE ON fda_packages
BEGIN SELECT RAISE(ABORT, 'fda_packages is append-only: UPDATE refused'); END;
CREATE TRIGGER fda_packages_no_delete BEFORE DELETE ON fda_packages
BEGIN SELECT RAISE(ABORT, 'fda_packages is append-only: DELETE refused'); END;
CREATE TRIGGER fda_request_events_no_update BEFORE UPDATE ON fda_request_events
BEGIN SELECT RAISE(ABORT, 'fda_request_events is append-only: UPDATE refused'); END;
CREATE TRIGGER fda_request_events_no_delete BEFORE DELETE ON fda_request_events
BEGIN SELECT RAISE(ABORT, 'fda_request_events is append-only: DELETE refused'); END;
