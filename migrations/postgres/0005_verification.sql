-- Verification and tracing (issue 6): the verification log, tracing requests with their
-- response-time evidence, FDA-extended expiry dates by lot, and the illegitimate flag of the
-- serial ledger. Append-only: never edit this file once landed. PostgreSQL dialect of
-- migrations/sqlite/0005_verification.sql (same tables, same
-- columns).

-- One row per verification answered (VRS request, CLI, investigation), as the Lightweight
-- Messaging request log keeps them: who asked, what, and the answer exactly as sent.
CREATE TABLE verifications (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    verified          BIGINT NOT NULL,
    failure_reason    TEXT,
    additional_info   TEXT,
    answer            TEXT NOT NULL,
    investigation_id  BIGINT
);
CREATE INDEX verifications_serial ON verifications (gtin, serial);
CREATE INDEX verifications_corr ON verifications (corr_uuid);
CREATE INDEX verifications_investigation ON verifications (investigation_id) WHERE investigation_id IS NOT NULL;

-- Tracing requests as received and answered: the timestamps are the response-time evidence.
CREATE TABLE trace_requests (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    hops            BIGINT NOT NULL,
    request         TEXT NOT NULL,
    answer_sha256   TEXT NOT NULL
);
CREATE INDEX trace_requests_product ON trace_requests (gtin, serial);

-- An expiry date extended by FDA for a lot (verification answers `ExpirationExtended` and
-- accepts either date). The latest row for a lot wins.
CREATE TABLE expiry_extensions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gtin             TEXT NOT NULL,
    lot              TEXT NOT NULL,
    extended_expiry  TEXT NOT NULL,
    reference        TEXT NOT NULL,
    recorded_by      TEXT NOT NULL,
    recorded_at      TEXT NOT NULL
);
CREATE INDEX expiry_extensions_lot ON expiry_extensions (gtin, lot, id);

ALTER TABLE serials ADD COLUMN illegitimate BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER verifications_append_only BEFORE UPDATE OR DELETE ON verifications
    FOR EACH ROW EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER verifications_no_truncate BEFORE TRUNCATE ON verifications
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER trace_requests_append_only BEFORE UPDATE OR DELETE ON trace_requests
    FOR EACH ROW EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER trace_requests_no_truncate BEFORE TRUNCATE ON trace_requests
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER expiry_extensions_append_only BEFORE UPDATE OR DELETE ON expiry_extensions
    FOR EACH ROW EXECUTE FUNCTION dscsa_append_only();
CREATE TRIGGER expiry_extensions_no_truncate BEFORE TRUNCATE ON expiry_extensions
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_append_only();
