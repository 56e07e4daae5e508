#!/usr/bin/env bash
# Run once by the postgres image's entrypoint, when the data volume is first initialised
# (mounted at /docker-entrypoint-initdb.d by deploy/compose.yaml). Creates:
#   dscsa_owner  owns the database and every table; runs the migrations (`dscsa migrate`,
#                the compose service `migrate`)
#   dscsa_app    what the server connects as: SELECT, INSERT, UPDATE on the tables, no DELETE,
#                no TRUNCATE, cannot drop the append-only triggers (not the owner)
# The server runs with database.migrate_on_start = false (compose.yaml): it only checks that
# the owner has applied every migration, so dscsa_app needs no CREATE on the schema.
set -euo pipefail
: "${DSCSA_OWNER_PASSWORD:?set DSCSA_OWNER_PASSWORD}"
: "${DSCSA_APP_PASSWORD:?set DSCSA_APP_PASSWORD}"
DSCSA_DB="${DSCSA_DB:-dscsa}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
     --set=owner_pw="$DSCSA_OWNER_PASSWORD" --set=app_pw="$DSCSA_APP_PASSWORD" \
     --set=db="$DSCSA_DB" <<'EOSQL'
CREATE ROLE dscsa_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE dscsa_app LOGIN PASSWORD :'app_pw';
CREATE DATABASE :"db" OWNER dscsa_owner;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO dscsa_owner, dscsa_app;
\connect :"db"
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO dscsa_app;
-- Tables and sequences the owner's migrations create, now and in later versions.
ALTER DEFAULT PRIVILEGES FOR ROLE dscsa_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE ON TABLES TO dscsa_app;
ALTER DEFAULT PRIVILEGES FOR ROLE dscsa_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO dscsa_app;
EOSQL
