-- The EPCIS repository (issue 5): captured documents, events and their query indexes, error
-- declarations, header master data, DSCSA transaction statements, the serial ledger,
-- aggregation intervals and business-rule anomalies. Append-only: never edit this file once
-- landed.
--
-- Times that queries compare are INTEGER microseconds since the Unix epoch (UTC); the event as
-- sent is kept in `events.body`. EPCs are stored in their EPC URN form where one exists (a
-- Digital Link is converted on capture), so a query in either form finds them.
--
-- What the DSCSA requires kept (documents, events, declarations, master data, statements,
-- anomalies) refuses UPDATE and DELETE (triggers at the end). The serial ledger, the
-- aggregation intervals and capture jobs are derived or operational state and are updated.

CREATE TABLE epcis_documents (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    bytes         BLOB NOT NULL,
    captured_by   TEXT NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE INDEX epcis_documents_sha256 ON epcis_documents (sha256);

CREATE TABLE capture_jobs (
    id               TEXT PRIMARY KEY,
    captured_by      TEXT NOT NULL,
    document_id      INTEGER REFERENCES epcis_documents (id),
    content_type     TEXT NOT NULL,
    size             INTEGER NOT NULL,
    error_behaviour  TEXT NOT NULL CHECK (error_behaviour IN ('rollback', 'proceed')),
    strict           INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    finished_at      TEXT,
    running          INTEGER NOT NULL,
    success          INTEGER NOT NULL,
    events           INTEGER NOT NULL DEFAULT 0,
    events_new       INTEGER NOT NULL DEFAULT 0,
    duplicates       INTEGER NOT NULL DEFAULT 0,
    anomalies        INTEGER NOT NULL DEFAULT 0,
    errors           TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX capture_jobs_captured_by ON capture_jobs (captured_by, created_at);

CREATE TABLE events (
    id                 INTEGER PRIMARY KEY,
    hash_id            TEXT NOT NULL UNIQUE,
    event_id           TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    action             TEXT,
    event_time         INTEGER NOT NULL,
    record_time        INTEGER NOT NULL,
    biz_step           TEXT,
    disposition        TEXT,
    read_point         TEXT,
    biz_location       TEXT,
    transformation_id  TEXT,
    captured_by        TEXT NOT NULL,
    document_id        INTEGER NOT NULL REFERENCES epcis_documents (id),
    body               TEXT NOT NULL
);
CREATE INDEX events_event_id ON events (event_id);
CREATE INDEX events_event_time ON events (event_time, id);
CREATE INDEX events_record_time ON events (record_time, id);
CREATE INDEX events_captured_by ON events (captured_by, id);
CREATE INDEX events_biz_step ON events (biz_step, id);
CREATE INDEX events_biz_location ON events (biz_location, id);
CREATE INDEX events_read_point ON events (read_point, id);

-- Instance identifiers of an event. role: epc | parent | child | input | output.
CREATE TABLE event_epcs (
    epc    TEXT NOT NULL,
    event  INTEGER NOT NULL,
    role   TEXT NOT NULL,
    PRIMARY KEY (epc, event, role)
) WITHOUT ROWID;
CREATE INDEX event_epcs_event ON event_epcs (event);

-- Quantity lists. role: epc | child | input | output.
CREATE TABLE event_classes (
    event      INTEGER NOT NULL,
    role       TEXT NOT NULL,
    epc_class  TEXT NOT NULL,
    quantity   REAL,
    uom        TEXT
);
CREATE INDEX event_classes_class ON event_classes (epc_class, event);
CREATE INDEX event_classes_event ON event_classes (event);

CREATE TABLE event_biz_transactions (
    event  INTEGER NOT NULL,
    type   TEXT NOT NULL,
    id     TEXT NOT NULL
);
CREATE INDEX event_biz_transactions_id ON event_biz_transactions (id, event);
CREATE INDEX event_biz_transactions_event ON event_biz_transactions (event);

-- Source and destination lists. direction: source | destination; gln: the 13-digit GLN of an
-- SGLN/PGLN/Digital Link party or location, for the visibility policy.
CREATE TABLE event_parties (
    event      INTEGER NOT NULL,
    direction  TEXT NOT NULL,
    type       TEXT NOT NULL,
    id         TEXT NOT NULL,
    gln        TEXT
);
CREATE INDEX event_parties_gln ON event_parties (gln, event);
CREATE INDEX event_parties_id ON event_parties (id, event);
CREATE INDEX event_parties_event ON event_parties (event);

-- Fields for the flexible query families: ILMD, user extensions, extensions of read point,
-- business location and error declaration, sensor metadata and reports, persistent disposition.
-- depth 0 = top level of its scope, 1 = nested (the INNER_ families).
CREATE TABLE event_fields (
    event       INTEGER NOT NULL,
    scope       TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    depth       INTEGER NOT NULL,
    text_value  TEXT,
    num_value   REAL
);
CREATE INDEX event_fields_lookup ON event_fields (scope, name, namespace, text_value);
CREATE INDEX event_fields_event ON event_fields (event);

-- Error declarations, beside the event they declare erroneous (same hash ID).
CREATE TABLE event_error_declarations (
    id                INTEGER PRIMARY KEY,
    event             INTEGER NOT NULL REFERENCES events (id),
    declaration_time  INTEGER NOT NULL,
    reason            TEXT,
    body              TEXT NOT NULL,
    body_sha256       TEXT NOT NULL,
    captured_by       TEXT NOT NULL,
    document_id       INTEGER NOT NULL REFERENCES epcis_documents (id),
    record_time       INTEGER NOT NULL,
    UNIQUE (event, body_sha256)
);
CREATE TABLE error_corrective_events (
    declaration        INTEGER NOT NULL REFERENCES event_error_declarations (id),
    event              INTEGER NOT NULL,
    corrective_event_id TEXT NOT NULL
);
CREATE INDEX error_corrective_events_id ON error_corrective_events (corrective_event_id);
CREATE INDEX error_corrective_events_event ON error_corrective_events (event);

-- Header master data, one row per element per document that sent it (versioned by capture).
CREATE TABLE master_products (
    id             INTEGER PRIMARY KEY,
    class_id       TEXT NOT NULL,
    gtin           TEXT,
    ndc            TEXT,
    name           TEXT,
    dosage_form    TEXT,
    strength       TEXT,
    net_content    TEXT,
    manufacturer   TEXT,
    attributes     TEXT NOT NULL,
    document_id    INTEGER NOT NULL REFERENCES epcis_documents (id),
    captured_by    TEXT NOT NULL,
    valid_from     TEXT NOT NULL
);
CREATE INDEX master_products_gtin ON master_products (gtin, id);
CREATE INDEX master_products_ndc ON master_products (ndc, id);

CREATE TABLE master_locations (
    id             INTEGER PRIMARY KEY,
    location_id    TEXT NOT NULL,
    gln            TEXT,
    name           TEXT,
    attributes     TEXT NOT NULL,
    children       TEXT NOT NULL,
    document_id    INTEGER NOT NULL REFERENCES epcis_documents (id),
    captured_by    TEXT NOT NULL,
    valid_from     TEXT NOT NULL
);
CREATE INDEX master_locations_gln ON master_locations (gln, id);
CREATE INDEX master_locations_location ON master_locations (location_id, id);

-- The location hierarchy every master-data document declared, for the WD_ query parameters.
CREATE TABLE location_hierarchy (
    parent  TEXT NOT NULL,
    child   TEXT NOT NULL,
    PRIMARY KEY (parent, child)
) WITHOUT ROWID;

CREATE TABLE transaction_statements (
    id             INTEGER PRIMARY KEY,
    document_id    INTEGER NOT NULL REFERENCES epcis_documents (id),
    affirm         TEXT,
    legal_notice   TEXT,
    statement      TEXT NOT NULL,
    captured_by    TEXT NOT NULL,
    recorded_at    TEXT NOT NULL
);
CREATE INDEX transaction_statements_document ON transaction_statements (document_id);

-- The serial ledger: one row per instance identifier the repository has seen. A rowid table:
-- its rows are wide, and WITHOUT ROWID (rows stored in the key's B-tree) measured 2-3x slower
-- to insert and update.
-- state: active | decommissioned | destroyed | dispensed | unknown (seen, never commissioned here)
CREATE TABLE serials (
    epc                 TEXT PRIMARY KEY,
    gtin                TEXT,
    lot                 TEXT,
    expiry              TEXT,
    commissioned_event  INTEGER,
    commissioned_at     INTEGER,
    parent_epc          TEXT,
    top_epc             TEXT,
    last_event          INTEGER NOT NULL,
    last_event_time     INTEGER NOT NULL,
    last_biz_step       TEXT,
    last_disposition    TEXT,
    owner               TEXT,
    location            TEXT,
    state               TEXT NOT NULL,
    recalled            INTEGER NOT NULL DEFAULT 0,
    suspect             INTEGER NOT NULL DEFAULT 0,
    quarantined         INTEGER NOT NULL DEFAULT 0
);
-- Partial: most serials are in no container for part of their life, and an index entry per
-- NULL would be maintained on every pack and unpack for nothing.
CREATE INDEX serials_parent ON serials (parent_epc) WHERE parent_epc IS NOT NULL;
CREATE INDEX serials_top ON serials (top_epc) WHERE top_epc IS NOT NULL;
CREATE INDEX serials_lot ON serials (gtin, lot);

-- Who was inside what, and when: (child, parent, from, to). to_* NULL while still inside.
CREATE TABLE aggregation_intervals (
    child       TEXT NOT NULL,
    parent      TEXT NOT NULL,
    from_event  INTEGER NOT NULL,
    from_time   INTEGER NOT NULL,
    to_event    INTEGER,
    to_time     INTEGER
);
CREATE INDEX aggregation_intervals_child ON aggregation_intervals (child, from_time);
CREATE INDEX aggregation_intervals_parent ON aggregation_intervals (parent, from_time);

-- Business-rule anomalies found at capture (the event is stored; strict mode refuses instead).
CREATE TABLE anomalies (
    id        INTEGER PRIMARY KEY,
    event     INTEGER NOT NULL REFERENCES events (id),
    epc       TEXT,
    kind      TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX anomalies_event ON anomalies (event);
CREATE INDEX anomalies_epc ON anomalies (epc);

CREATE TRIGGER epcis_documents_no_update BEFORE UPDATE ON epcis_documents
BEGIN SELECT RAISE(ABORT, 'epcis_documents is append-only: UPDATE refused'); END;
CREATE TRIGGER epcis_documents_no_delete BEFORE DELETE ON epcis_documents
BEGIN SELECT RAISE(ABORT, 'epcis_documents is append-only: DELETE refused'); END;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE refused'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE refused'); END;
CREATE TRIGGER event_epcs_no_update BEFORE UPDATE ON event_epcs
BEGIN SELECT RAISE(ABORT, 'event_epcs is append-only: UPDATE refused'); END;
CREATE TRIGGER event_epcs_no_delete BEFORE DELETE ON event_epcs
BEGIN SELECT RAISE(ABORT, 'event_epcs is append-only: DELETE refused'); END;
CREATE TRIGGER event_classes_no_update BEFORE UPDATE ON event_classes
BEGIN SELECT RAISE(ABORT, 'event_classes is append-only: UPDATE refused'); END;
CREATE TRIGGER event_classes_no_delete BEFORE DELETE ON event_classes
BEGIN SELECT RAISE(ABORT, 'event_classes is append-only: DELETE refused'); END;
CREATE TRIGGER event_biz_transactions_no_update BEFORE UPDATE ON event_biz_transactions
BEGIN SELECT RAISE(ABORT, 'event_biz_transactions is append-only: UPDATE refused'); END;
CREATE TRIGGER event_biz_transactions_no_delete BEFORE DELETE ON event_biz_transactions
BEGIN SELECT RAISE(ABORT, 'event_biz_transactions is append-only: DELETE refused'); END;
CREATE TRIGGER event_parties_no_update BEFORE UPDATE ON event_parties
BEGIN SELECT RAISE(ABORT, 'event_parties is append-only: UPDATE refused'); END;
CREATE TRIGGER event_parties_no_delete BEFORE DELETE ON event_parties
BEGIN SELECT RAISE(ABORT, 'event_parties is append-only: DELETE refused'); END;
CREATE TRIGGER event_fields_no_update BEFORE UPDATE ON event_fields
BEGIN SELECT RAISE(ABORT, 'event_fields is append-only: UPDATE refused'); END;
CREATE TRIGGER event_fields_no_delete BEFORE DELETE ON event_fields
BEGIN SELECT RAISE(ABORT, 'event_fields is append-only: DELETE refused'); END;
CREATE TRIGGER event_error_declarations_no_update BEFORE UPDATE ON event_error_declarations
BEGIN SELECT RAISE(ABORT, 'event_error_declarations is append-only: UPDATE refused'); END;
CREATE TRIGGER event_error_declarations_no_delete BEFORE DELETE ON event_error_declarations
BEGIN SELECT RAISE(ABORT, 'event_error_declarations is append-only: DELETE refused'); END;
CREATE TRIGGER error_corrective_events_no_update BEFORE UPDATE ON error_corrective_events
BEGIN SELECT RAISE(ABORT, 'error_corrective_events is append-only: UPDATE refused'); END;
CREATE TRIGGER error_corrective_events_no_delete BEFORE DELETE ON error_corrective_events
BEGIN SELECT RAISE(ABORT, 'error_corrective_events is append-only: DELETE refused'); END;
CREATE TRIGGER master_products_no_update BEFORE UPDATE ON master_products
BEGIN SELECT RAISE(ABORT, 'master_products is append-only: UPDATE refused'); END;
CREATE TRIGGER master_products_no_delete BEFORE DELETE ON master_products
BEGIN SELECT RAISE(ABORT, 'master_products is append-only: DELETE refused'); END;
CREATE TRIGGER master_locations_no_update BEFORE UPDATE ON master_locations
BEGIN SELECT RAISE(ABORT, 'master_locations is append-only: UPDATE refused'); END;
CREATE TRIGGER master_locations_no_delete BEFORE DELETE ON master_locations
BEGIN SELECT RAISE(ABORT, 'master_locations is append-only: DELETE refused'); END;
CREATE TRIGGER transaction_statements_no_update BEFORE UPDATE ON transaction_statements
BEGIN SELECT RAISE(ABORT, 'transaction_statements is append-only: UPDATE refused'); END;
CREATE TRIGGER transaction_statements_no_delete BEFORE DELETE ON transaction_statements
BEGIN SELECT RAISE(ABORT, 'transaction_statements is append-only: DELETE refused'); END;
CREATE TRIGGER anomalies_no_update BEFORE UPDATE ON anomalies
BEGIN SELECT RAISE(ABORT, 'anomalies is append-only: UPDATE refused'); END;
CREATE TRIGGER anomalies_no_delete BEFORE DELETE ON anomalies
BEGIN SELECT RAISE(ABORT, 'anomalies is append-only: DELETE refused'); END;
