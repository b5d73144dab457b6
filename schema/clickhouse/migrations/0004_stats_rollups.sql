-- Stats rollups: per-bin aggregates of requests in 5-minute buckets
-- (bucket_us = received_us rounded down to a multiple of 300 s), filled by
-- materialized views on every insert into requests. Store.Stats reads them
-- for whole buckets that no tombstone reaches and falls back to requests for
-- the rest; see rollupRange in requests.go. Deletes and trims never touch
-- them (stale rows stay behind a tombstone's reach); partition drops do.

-- Request counts by every breakdown of the stats page. SummingMergeTree adds
-- up the rows of one key when parts merge; reads still sum.
CREATE TABLE IF NOT EXISTS {{local "request_counts_5m"}}{{on}} (
    bin_id          String,
    bucket_us       Int64,
    response_status UInt16,
    method          {{lc "String"}},
    sig_status      {{lc "String"}},
    remote_ip       String,
    requests        UInt64
) ENGINE = {{engine "SummingMergeTree(requests)" "request_counts_5m"}}
PARTITION BY toYYYYMMDD(toDateTime(intDiv(bucket_us, 1000000), 'UTC'))
ORDER BY (bin_id, bucket_us, response_status, method, sig_status, remote_ip);
{{distributed "request_counts_5m" "cityHash64(bin_id)"}}

-- Count and latency percentiles per bucket, as aggregate states: the same
-- quantiles function (8192-value reservoir) the raw scan uses, merged at
-- read time.
CREATE TABLE IF NOT EXISTS {{local "request_latency_5m"}}{{on}} (
    bin_id     String,
    bucket_us  Int64,
    requests   AggregateFunction(count),
    latency_us AggregateFunction(quantiles(0.5, 0.95, 0.99), Int64)
) ENGINE = {{engine "AggregatingMergeTree" "request_latency_5m"}}
PARTITION BY toYYYYMMDD(toDateTime(intDiv(bucket_us, 1000000), 'UTC'))
ORDER BY (bin_id, bucket_us);
{{distributed "request_latency_5m" "cityHash64(bin_id)"}}

-- On a cluster the views read the local table of each node and write its
-- local (replicated) rollup: a replica that fetches a part does not run the
-- views again, it fetches the rollup's part too.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{table "request_counts_5m_mv"}}{{on}} TO {{local "request_counts_5m"}} AS
SELECT bin_id, intDiv(received_us, 300000000) * 300000000 AS bucket_us,
    response_status, method, sig_status, remote_ip, count() AS requests
FROM {{local "requests"}}
GROUP BY bin_id, bucket_us, response_status, method, sig_status, remote_ip;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{table "request_latency_5m_mv"}}{{on}} TO {{local "request_latency_5m"}} AS
SELECT bin_id, intDiv(received_us, 300000000) * 300000000 AS bucket_us,
    countState() AS requests, quantilesState(0.5, 0.95, 0.99)(latency_us) AS latency_us
FROM {{local "requests"}}
GROUP BY bin_id, bucket_us;

-- Requests stored before the views existed are not in the rollups; each
-- was received at or before this instant (0: the table was empty), so
-- buckets starting after it are complete. Created after the views, so a
-- request inserted in between is counted by both the views and this bound.
-- On a cluster every node computes it from the Distributed requests.
CREATE TABLE IF NOT EXISTS {{table "stats_rollup_start"}}{{on}} ENGINE = TinyLog AS
SELECT toInt64(max(received_us)) AS covered_after_us FROM {{table "requests"}};
