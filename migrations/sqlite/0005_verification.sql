-- Verification and tracing (issue 6): the verification log, tracing requests with their
-- response-time evidence, FDA-extended expiry dates by lot, and the illegitimate flag of the
-- serial ledger. Append-only: never edit this file once landed. PostgreSQL dialect:
-- migrations/postgres/0005_verification.sql.

-- One row per verification answered (VRS request, CLI, investigation), as the Lightweight
-- Messaging request log keeps them: who asked, what, and the answer exactly as sent.
CREATE TABLE verifications (
    id                INTEGER PRIMARY KEY,
    corr_uuid         TEXT NOT NULL,
    requested_at      TEXT NOT NULL,
    requester         TEXT NOT NULL,
    channel           TEXT NOT NULL,
    req_gln           TEXT,
    context           TEXT,
    gtin              TEXT NOT NULL,
    lot               TEXT,
    serial            TEXT NOT NULL,
    expiry            TEXT,
    verified          INTEGER NOT NULL,
    failure_reason    TEXT,
    additional_info   TEXT,
    answer            TEXT NOT NULL,
    investigation_id  INTEGER
);
CREATE INDEX verifications_serial ON verifications (gtin, serial);
CREATE INDEX verifications_corr ON verifications (corr_uuid);
CREATE INDEX verifications_investigation ON verifications (investigation_id) WHERE investigation_id IS NOT NULL;

-- Tracing requests as received and answered: the timestamps are the response-time evidence.
CREATE TABLE trace_requests (
    id              INTEGER PRIMARY KEY,
    request_id      TEXT NOT NULL,
    requested_at    TEXT,
    received_at     TEXT NOT NULL,
    answered_at     TEXT NOT NULL,
    requester       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    response_type   TEXT NOT NULL,
    reason          TEXT NOT NULL,
    gtin            TEXT NOT NULL,
    serial          TEXT,
    lot             TEXT,
    hops            INTEGER NOT NULL,
    request         TEXT NOT NULL,
    answer_sha256   TEXT NOT NULL
);
CREATE INDEX trace_requests_product ON trace_requests (gtin, serial);

-- An expiry date extended by FDA for a lot (verification answers `ExpirationExtended` and
-- accepts either date). The latest row for a lot wins.
CREATE TABLE expiry_extensions (
    id               INTEGER PRIMARY KEY,
    gtin             TEXT NOT NULL,
    lot              TEXT NOT NULL,
    extended_expiry  TEXT NOT NULL,
    reference        TEXT NOT NULL,
    recorded_by      TEXT NOT NULL,
    recorded_at      TEXT NOT NULL
);
CREATE INDEX expiry_extensions_lot ON expiry_extensions (gtin, lot, id);

ALTER TABLE serials ADD COLUMN illegitimate INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER verifications_no_update BEFORE UPDATE ON verifications
BEGIN SELECT RAISE(ABORT, 'verifications is append-only: UPDATE refused'); END;
CREATE TRIGGER verifications_no_delete BEFORE DELETE ON verifications
BEGIN SELECT RAISE(ABORT, 'verifications is append-only: DELETE refused'); END;
CREATE TRIGGER trace_requests_no_update BEFORE UPDATE ON trace_requests
BEGIN SELECT RAISE(ABORT, 'trace_requests is append-only: UPDATE refused'); END;
CREATE TRIGGER trace_requests_no_delete BEFORE DELETE ON trace_requests
BEGIN SELECT RAISE(ABORT, 'trace_requests is append-only: DELETE refused'); END;
CREATE TRIGGER expiry_extensions_no_update BEFORE UPDATE ON expiry_extensions
BEGIN SELECT RAISE(ABORT, 'expiry_extensions is append-only: UPDATE refused'); END;
CREATE TRIGGER expiry_extensions_no_delete BEFORE DELETE ON expiry_extensions
BEGIN SELECT RAISE(ABORT, 'expiry_extensions is append-only: DELETE refused'); END;
