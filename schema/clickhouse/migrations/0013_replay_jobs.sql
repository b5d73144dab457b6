-- Bulk replay jobs (issue 17.6): mutable like bins. Every progress write
-- inserts the whole job with a larger version (its updated time); reads use
-- FINAL. Cancel requests are rows of their own, so the runner's progress
-- writes never replace them.
CREATE TABLE IF NOT EXISTS {{local "replay_jobs"}}{{on}} (
    id         String,
    bin_id     String,
    state      String,
    doc        String,
    version    UInt64
) ENGINE = {{engine "ReplacingMergeTree(version)" "replay_jobs"}}
ORDER BY id;
{{distributed "replay_jobs" "cityHash64(id)"}}

CREATE TABLE IF NOT EXISTS {{local "replay_cancels"}}{{on}} (
    id     String,
    bin_id String,
    at_us  Int64
) ENGINE = {{engine "MergeTree" "replay_cancels"}}
ORDER BY id;
{{distributed "replay_cancels" "cityHash64(id)"}}
