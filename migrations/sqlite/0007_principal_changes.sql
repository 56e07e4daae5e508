-- A counter that every change to principals, partner records, GLNs, company prefixes and
-- certificate bindings moves forward (triggers), whichever process makes it (the server or
-- `dscsa partners ...`). The partner listener caches resolved principals and re-reads one
-- number per request: a change takes effect on the next request. Append-only: never edit
-- this file once landed.

CREATE TABLE principal_changes (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO principal_changes (id, version) VALUES (1, 0);

CREATE TRIGGER principals_insert_bumps AFTER INSERT ON principals
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER principals_update_bumps AFTER UPDATE ON principals
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER principals_delete_bumps AFTER DELETE ON principals
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_records_insert_bumps AFTER INSERT ON partner_records
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_records_update_bumps AFTER UPDATE ON partner_records
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_records_delete_bumps AFTER DELETE ON partner_records
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_glns_insert_bumps AFTER INSERT ON partner_glns
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_glns_update_bumps AFTER UPDATE ON partner_glns
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_glns_delete_bumps AFTER DELETE ON partner_glns
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_company_prefixes_insert_bumps AFTER INSERT ON partner_company_prefixes
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_company_prefixes_update_bumps AFTER UPDATE ON partner_company_prefixes
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER partner_company_prefixes_delete_bumps AFTER DELETE ON partner_company_prefixes
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER cert_bindings_insert_bumps AFTER INSERT ON cert_bindings
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER cert_bindings_update_bumps AFTER UPDATE ON cert_bindings
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER cert_bindings_delete_bumps AFTER DELETE ON cert_bindings
BEGIN UPDATE principal_changes SET version = version + 1 WHERE id = 1; END;
