-- The EPCIS query interface (issue 5). Append-only: never edit this file once landed.
-- PostgreSQL dialect of migrations/sqlite/0004_query.sql.
--
-- The key that signs `nextPageToken`s: one random value, created by the first query that
-- issues a token, so every server on this database accepts the tokens of the others.
CREATE TABLE query_page_token_key (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    key  TEXT NOT NULL
);
