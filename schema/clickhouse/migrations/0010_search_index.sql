-- q= search on modern servers: an n-gram bloom filter over everything q=
-- looks at, lower-cased (q= is case-insensitive), so a search skips the
-- granules that cannot hold the needle instead of reading every body of
-- the bin. Store.binQuery adds the matching LIKE (sqlSearchExpr in sql.go,
-- the same expression) only when this index exists; 18.16 has no skip
-- indexes and gets nothing. Parts written before this migration have no
-- index data (they are searched as before) until they merge. Numbered 0010
-- so that parallel branches can take 0005-0009.
{{- if .SkipIndexes}}
ALTER TABLE {{local "requests"}}{{on}} ADD INDEX IF NOT EXISTS idx_search
    lower(concat(path, '\n', query, '\n', arrayStringConcat(header_names, '\n'), '\n', arrayStringConcat(header_values, '\n'), '\n', body_head, body_tail))
    TYPE ngrambf_v1(4, 32768, 2, 0) GRANULARITY 1;
{{- end}}
