-- The forward state and attempts (issue 18). fwd_state is what forward=
-- filters on: written by the store for new rows, derived by the DEFAULT for
-- rows written before (parts without the column compute it when read).
-- fwd_detail is the JSON of the whole schema.Forward when it has attempts,
-- a state or a skip reason ('' otherwise: the fwd_* columns say it all).
{{addColumn "requests" "fwd_state String DEFAULT multiIf(has_forward = 0, '', fwd_error = '' AND fwd_status >= 200 AND fwd_status <= 299, 'delivered', 'failed')" "cityHash64(bin_id)"}};
{{addColumn "requests" "fwd_detail String DEFAULT ''" "cityHash64(bin_id)"}};

-- Later outcomes of a forward (retries, redeliveries): ClickHouse rows are
-- not updated in place, so each outcome is a row here, the one with the
-- highest version (its number of attempts) wins (argMax at read, and
-- ReplacingMergeTree when parts merge). Reads overlay it on the request's
-- own forward when its version is higher. Sharded by bin like requests, so
-- a bin's updates sit on the shard of its requests (forward= reads them
-- with a local IN).
CREATE TABLE IF NOT EXISTS {{local "forward_updates"}}{{on}} (
    bin_id     String,
    id         FixedString(16),
    version    Int64,
    state      String,
    doc        String,
    updated_us Int64
) ENGINE = {{engine "ReplacingMergeTree(version)" "forward_updates"}}
ORDER BY (bin_id, id);
{{distributed "forward_updates" "cityHash64(bin_id)"}}
