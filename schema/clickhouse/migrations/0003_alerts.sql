-- Alert rules: mutable like bins.
CREATE TABLE IF NOT EXISTS alert_rules (
    id         String,
    bin_id     String,
    doc        String,
    created_us Int64,
    updated_us Int64,
    deleted    UInt8,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- Alert history: append-only, ordered by the UUIDv7 id (time order).
CREATE TABLE IF NOT EXISTS alert_events (
    id      FixedString(16),
    rule_id String,
    bin_id  String,
    state   String,
    at_us   Int64,
    doc     String{{codec "ZSTD(3)"}}
) ENGINE = MergeTree
PARTITION BY toYYYYMM(toDateTime(intDiv(at_us, 1000000), 'UTC'))
ORDER BY id;
