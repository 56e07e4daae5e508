-- The EPCIS query interface (issue 5). Append-only: never edit this file once landed.
--
-- The key that signs `nextPageToken`s: one random value, created by the first query that
-- issues a token, so every server on this database accepts the tokens of the others.
CREATE TABLE query_page_token_key (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    key  TEXT NOT NULL
);
