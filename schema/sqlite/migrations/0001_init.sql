-- 0001: bins, requests, alert rules and events.
-- Timestamps are INTEGER Unix microseconds (UTC); ids of requests and events
-- are the 16 raw UUID bytes, so byte order equals cursor order.

CREATE TABLE IF NOT EXISTS bins (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,            -- NULL: never expires
    private    INTEGER NOT NULL,
    settings   BLOB    NOT NULL    -- JSON document of schema.BinSettings
);
CREATE INDEX IF NOT EXISTS bins_created ON bins (created_at, id);
CREATE INDEX IF NOT EXISTS bins_expires ON bins (expires_at) WHERE expires_at IS NOT NULL;

-- requests is a rowid table: rows carry bodies (often > 1 KB), which SQLite
-- advises against in WITHOUT ROWID tables. Two indexes: the unique id for
-- ON CONFLICT (id) DO NOTHING idempotency and point lookups, and (bin_id, received_at,
-- id) for every newest-first page, cursor, time range and count.
CREATE TABLE IF NOT EXISTS requests (
    id              BLOB    NOT NULL,
    bin_id          TEXT    NOT NULL,
    received_at     INTEGER NOT NULL,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    query           TEXT    NOT NULL,
    headers         BLOB    NOT NULL,  -- name 0x00 value 0x00 ..., see headers.go
    remote_ip       TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    body_size       INTEGER NOT NULL,
    body_truncated  INTEGER NOT NULL,
    response_status INTEGER NOT NULL,
    latency_us      INTEGER NOT NULL,
    sig_scheme      TEXT    NOT NULL,
    sig_status      TEXT    NOT NULL,
    sig_reason      TEXT    NOT NULL,
    delivery_lag_ms INTEGER,           -- NULL: the scheme carries no timestamp
    forward         BLOB,              -- NULL or JSON of schema.Forward
    body            BLOB    NOT NULL   -- last: reading the columns before it never touches its overflow pages
);
CREATE UNIQUE INDEX IF NOT EXISTS requests_id ON requests (id);
CREATE INDEX IF NOT EXISTS requests_bin_time ON requests (bin_id, received_at, id);

CREATE TABLE IF NOT EXISTS alert_rules (
    id         TEXT    NOT NULL PRIMARY KEY,
    bin_id     TEXT    NOT NULL,
    doc        BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_events (
    id      BLOB    NOT NULL PRIMARY KEY,
    rule_id TEXT    NOT NULL,
    bin_id  TEXT    NOT NULL,
    state   TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    doc     BLOB
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alert_events_rule ON alert_events (rule_id, id);
CREATE INDEX IF NOT EXISTS alert_events_bin ON alert_events (bin_id, id);
