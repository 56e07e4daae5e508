-- A counter that every change to principals, partner records, GLNs, company prefixes and
-- certificate bindings moves forward (triggers), whichever process makes it (the server or
-- `dscsa partners ...`). The partner listener caches resolved principals and re-reads one
-- number per request: a change takes effect on the next request. Append-only: never edit
-- this file once landed.

CREATE TABLE principal_changes (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  BIGINT NOT NULL
);
INSERT INTO principal_changes (id, version) VALUES (1, 0);

CREATE FUNCTION dscsa_principal_changed() RETURNS trigger AS $$
BEGIN
    UPDATE principal_changes SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER principals_bumps AFTER INSERT OR UPDATE OR DELETE ON principals
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_principal_changed();
CREATE TRIGGER partner_records_bumps AFTER INSERT OR UPDATE OR DELETE ON partner_records
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_principal_changed();
CREATE TRIGGER partner_glns_bumps AFTER INSERT OR UPDATE OR DELETE ON partner_glns
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_principal_changed();
CREATE TRIGGER partner_company_prefixes_bumps AFTER INSERT OR UPDATE OR DELETE ON partner_company_prefixes
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_principal_changed();
CREATE TRIGGER cert_bindings_bumps AFTER INSERT OR UPDATE OR DELETE ON cert_bindings
    FOR EACH STATEMENT EXECUTE FUNCTION dscsa_principal_changed();
