-- Principals, partner records and certificate bindings (issue 3).
-- Append-only: never edit this file once landed; add a new migration instead.
-- Times are RFC 3339 UTC text (`2025-01-31T12:00:00Z`), so they sort and read the same on both backends.

CREATE TABLE principals (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('partner', 'regulator', 'staff', 'system')),
    display_name  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    staff_role    TEXT CHECK (staff_role IN ('admin', 'auditor', 'compliance')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((kind = 'staff') = (staff_role IS NOT NULL))
);

CREATE TABLE partner_records (
    principal_id          TEXT PRIMARY KEY REFERENCES principals (id),
    legal_name            TEXT NOT NULL,
    role                  TEXT NOT NULL
        CHECK (role IN ('dispenser', 'manufacturer', 'regulator', 'repackager', '3pl', 'wholesaler')),
    state_licence_number  TEXT,
    state_licence_state   TEXT,
    dea_number            TEXT,
    fda_registration      TEXT,
    atp_credential        TEXT,
    CHECK ((state_licence_number IS NULL) = (state_licence_state IS NULL))
);

CREATE TABLE partner_glns (
    principal_id  TEXT NOT NULL REFERENCES principals (id),
    gln           TEXT NOT NULL,
    PRIMARY KEY (principal_id, gln)
);
CREATE INDEX partner_glns_gln ON partner_glns (gln);

CREATE TABLE partner_company_prefixes (
    principal_id  TEXT NOT NULL REFERENCES principals (id),
    prefix        TEXT NOT NULL,
    PRIMARY KEY (principal_id, prefix)
);

-- A binding is never deleted: removal sets removed_at, so the history of who held which
-- certificate stays.
CREATE TABLE cert_bindings (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    principal_id  TEXT NOT NULL REFERENCES principals (id),
    match_kind    TEXT NOT NULL CHECK (match_kind IN ('fingerprint', 'name')),
    match_value   TEXT NOT NULL,
    not_after     BIGINT,
    created_at    TEXT NOT NULL,
    removed_at    TEXT
);
-- One active binding per certificate name or fingerprint: two principals never share one.
CREATE UNIQUE INDEX cert_bindings_active_value
    ON cert_bindings (match_kind, match_value) WHERE removed_at IS NULL;
CREATE INDEX cert_bindings_principal ON cert_bindings (principal_id);
