-- Captured requests. One row per delivery; see schema/README.md for the
-- choice of ORDER BY and PARTITION BY. Template fields gate newer DDL on the
-- server version (18.16 gets the plain types); on a cluster each table is a
-- replicated <name>_local behind a Distributed <name> sharded by bin (see
-- schema/README.md and the template functions in migrate.go).
CREATE TABLE IF NOT EXISTS {{local "requests"}}{{on}} (
    bin_id          String,
    received_us     Int64{{codec "DoubleDelta, ZSTD(1)"}},
    id              FixedString(16),
    ingest_us       Int64{{codec "DoubleDelta, ZSTD(1)"}},
    method          {{lc "String"}},
    path            String{{codec "ZSTD(1)"}},
    query           String{{codec "ZSTD(1)"}},
    header_names    Array({{lc "String"}}),
    header_values   Array(String){{codec "ZSTD(3)"}},
    remote_ip       String,
    content_type    {{lc "String"}},
    body_size       Int64,
    body_truncated  UInt8,
    body_head       String{{codec "ZSTD(1)"}},
    body_tail       String{{codec "ZSTD(3)"}},
    response_status UInt16,
    latency_us      Int64{{codec "T64, ZSTD(1)"}},
    sig_scheme      {{lc "String"}},
    sig_status      {{lc "String"}},
    sig_reason      String,
    delivery_lag_ms Nullable(Int64),
    has_forward     UInt8,
    fwd_url         String,
    fwd_mode        {{lc "String"}},
    fwd_status      Int32,
    fwd_latency_us  Int64,
    fwd_error       String,
{{- if .DateTime64}}
    received_at     DateTime64(6, 'UTC') ALIAS fromUnixTimestamp64Micro(received_us, 'UTC'),
{{- else}}
    received_at     DateTime ALIAS toDateTime(intDiv(received_us, 1000000)),
{{- end}}
    request_id      String ALIAS UUIDNumToString(id),
    body            String ALIAS concat(body_head, body_tail)
{{- if .SkipIndexes}},
    INDEX idx_remote_ip remote_ip TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_status response_status TYPE minmax GRANULARITY 4
{{- end}}
) ENGINE = {{engine "ReplacingMergeTree" "requests"}}
PARTITION BY toYYYYMMDD(toDateTime(intDiv(received_us, 1000000), 'UTC'))
ORDER BY (bin_id, received_us, id)
SETTINGS index_granularity = 1024;
{{distributed "requests" "cityHash64(bin_id)"}}

-- Hides requests until the asynchronous ALTER ... DELETE has removed them:
-- rows of bin_id ingested at or before cut_ingest_us whose (received_us, id)
-- is at or before (upto_us, upto_id) are gone.
CREATE TABLE IF NOT EXISTS {{local "request_tombstones"}}{{on}} (
    bin_id        String,
    cut_ingest_us Int64,
    upto_us       Int64,
    upto_id       FixedString(16),
    created_us    Int64
) ENGINE = {{engine "MergeTree" "request_tombstones"}}
ORDER BY (bin_id, created_us);
{{distributed "request_tombstones" "cityHash64(bin_id)"}}
