-- Investigations of suspect and illegitimate product (issue 6): the case, the products it
-- names, and its timeline. Append-only: never edit this file once landed. PostgreSQL dialect:
-- migrations/postgres/0006_investigations.sql.
--
-- `investigations` holds the case's CURRENT state (status, determination, FDA deadline and
-- incident number) and is updated as the case moves on. Every change also appends a row to
-- `investigation_timeline`, which, like `investigation_items`, refuses UPDATE and DELETE: the
-- timeline is the record the DSCSA requires kept (6 years), the case row is its summary.
-- Times are RFC 3339 UTC text, as in 0001.

CREATE TABLE investigations (
    id                        INTEGER PRIMARY KEY,
    reference                 TEXT NOT NULL UNIQUE,
    reason                    TEXT NOT NULL
        CHECK (reason IN ('suspect', 'illegitimate', 'recall', 'compliance_audit')),
    status                    TEXT NOT NULL
        CHECK (status IN ('open', 'quarantined', 'determined', 'termination_requested',
                          'terminated', 'closed')),
    determination             TEXT CHECK (determination IN ('cleared', 'suspect', 'illegitimate')),
    determined_at             TEXT,
    illegitimate_at           TEXT,
    fda_deadline              TEXT,
    fda_incident_number       TEXT,
    fda_notified_at           TEXT,
    termination_reason        TEXT,
    termination_requested_at  TEXT,
    terminated_at             TEXT,
    closed_at                 TEXT,
    quarantine_event          TEXT,
    release_event             TEXT,
    description               TEXT NOT NULL,
    opened_by                 TEXT NOT NULL,
    opened_at                 TEXT NOT NULL,
    updated_at                TEXT NOT NULL,
    -- An illegitimate determination always starts the FDA notification clock.
    CHECK (determination IS NOT 'illegitimate' OR fda_deadline IS NOT NULL)
);
CREATE INDEX investigations_status ON investigations (status, id);

-- What a case names: one serial (kind 'serial': its ledger key, GTIN and serial number) or one
-- lot (kind 'lot': GTIN and lot).
CREATE TABLE investigation_items (
    id                INTEGER PRIMARY KEY,
    investigation_id  INTEGER NOT NULL REFERENCES investigations (id),
    kind              TEXT NOT NULL CHECK (kind IN ('serial', 'lot')),
    epc               TEXT,
    gtin              TEXT NOT NULL,
    serial            TEXT,
    lot               TEXT,
    added_at          TEXT NOT NULL,
    CHECK ((kind = 'serial') = (epc IS NOT NULL)),
    CHECK (kind = 'serial' OR lot IS NOT NULL)
);
CREATE INDEX investigation_items_case ON investigation_items (investigation_id);
CREATE INDEX investigation_items_epc ON investigation_items (epc) WHERE epc IS NOT NULL;

-- Everything that happened to a case, in order: opening, quarantine (with the hash ID of the
-- EPCIS event captured), notes, verifications, determinations, FDA notification, termination,
-- closing. `details` is JSON.
CREATE TABLE investigation_timeline (
    id                INTEGER PRIMARY KEY,
    investigation_id  INTEGER NOT NULL REFERENCES investigations (id),
    seq               INTEGER NOT NULL,
    action            TEXT NOT NULL,
    actor             TEXT NOT NULL,
    at                TEXT NOT NULL,
    status_after      TEXT NOT NULL,
    details           TEXT NOT NULL,
    event_hash        TEXT,
    UNIQUE (investigation_id, seq)
);

CREATE TRIGGER investigation_items_no_update BEFORE UPDATE ON investigation_items
BEGIN SELECT RAISE(ABORT, 'investigation_items is append-only: UPDATE refused'); END;
CREATE TRIGGER investigation_items_no_delete BEFORE DELETE ON investigation_items
BEGIN SELECT RAISE(ABORT, 'investigation_items is append-only: DELETE refused'); END;
CREATE TRIGGER investigation_timeline_no_update BEFORE UPDATE ON investigation_timeline
BEGIN SELECT RAISE(ABORT, 'investigation_timeline is append-only: UPDATE refused'); END;
CREATE TRIGGER investigation_timeline_no_delete BEFORE DELETE ON investigation_timeline
BEGIN SELECT RAISE(ABORT, 'investigation_timeline is append-only: DELETE refused'); END;
-- A case is never deleted either (its timeline refers to it); its state row is updated.
CREATE TRIGGER investigations_no_delete BEFORE DELETE ON investigations
BEGIN SELECT RAISE(ABORT, 'investigations is append-only: DELETE refused'); END;
