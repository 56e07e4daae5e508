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
    package_bytes   BIGINT
);
CREATE INDEX fda_records_requests_regulator ON fda_records_requests (regulator) WHERE regulator IS NOT NULL;

CREATE TABLE fda_packages (
    request_id   TEXT PRIMARY KEY REFERENCES fda_records_requests (id),
    produced_at  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    content      BYTEA NOT NULL
);

CREATE TABLE fda_request_events (
    event       BIGINT NOT NULL,
    request_id  TEXT NOT NULL REFERENCES fda_records_requests (id),
    PRIMARY KEY (event, request_id)
);

CREATE TRIGGER fda_records_requests_no_delete BEFORE DELETE ON fda_records_requests
    FOR EACH ROW EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER fda_packages_append_only BEFORE UPDATE OR DELETE ON fda_packages
    FOR EACH ROW EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER fda_packages_no_truncate BEFORE TRUNCATE ON fda_packages
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER fda_request_events_append_only BEFORE UPDATE OR DELETE ON fda_request_events
    FOR EACH ROW EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER fda_request_events_no_truncate BEFORE TRUNCATE ON fda_request_events
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_append_only();
