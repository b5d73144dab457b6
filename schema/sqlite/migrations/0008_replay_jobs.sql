-- 0008: bulk replay jobs (issue 17.6). The job is one JSON document; id,
-- bin and state are columns for lookups. Cancel requests are a separate
-- table so that the runner's progress writes never clear them.
CREATE TABLE IF NOT EXISTS replay_jobs (
    id         BLOB PRIMARY KEY,
    bin_id     TEXT NOT NULL,
    state      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    doc        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS replay_jobs_bin ON replay_jobs (bin_id, id);
CREATE TABLE IF NOT EXISTS replay_cancels (
    id BLOB PRIMARY KEY,
    at INTEGER NOT NULL
);
