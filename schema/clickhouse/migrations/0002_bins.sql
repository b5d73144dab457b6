-- Bin metadata: tiny and mutable. Every change inserts a new row with a
-- larger version; reads use FINAL and skip rows with deleted = 1.
CREATE TABLE IF NOT EXISTS {{local "bins"}}{{on}} (
    id         String,
    name       String,
    created_us Int64,
    expires_us Nullable(Int64),
    private    UInt8,
    settings   String,
    deleted    UInt8,
    version    UInt64
) ENGINE = {{engine "ReplacingMergeTree(version)" "bins"}}
ORDER BY id;
{{distributed "bins" "cityHash64(id)"}}
