-- Alert rules: mutable like bins.
CREATE TABLE IF NOT EXISTS {{local "alert_rules"}}{{on}} (
    id         String,
    bin_id     String,
    doc        String,
    created_us Int64,
    updated_us Int64,
    deleted    UInt8,
    version    UInt64
) ENGINE = {{engine "ReplacingMergeTree(version)" "alert_rules"}}
ORDER BY id;
{{distributed "alert_rules" "cityHash64(id)"}}

-- Alert history: append-only, ordered by the UUIDv7 id (time order).
CREATE TABLE IF NOT EXISTS {{local "alert_events"}}{{on}} (
    id      FixedString(16),
    rule_id String,
    bin_id  String,
    state   String,
    at_us   Int64,
    doc     String{{codec "ZSTD(3)"}}
) ENGINE = {{engine "MergeTree" "alert_events"}}
PARTITION BY toYYYYMM(toDateTime(intDiv(at_us, 1000000), 'UTC'))
ORDER BY id;
{{distributed "alert_events" "cityHash64(rule_id)"}}
