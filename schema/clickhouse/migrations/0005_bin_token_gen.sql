-- 0005: each bin's token generation (issue 12.7). Owner tokens and share
-- links carry the generation they were minted in; revoking increments it.
-- Bins written before this migration read as generation 0. 18.16 has no
-- ADD COLUMN IF NOT EXISTS (it does not parse it): the runner treats
-- "column already exists" (a re-run after a crash before the migration was
-- recorded) as applied (columnExists).
-- On a cluster the replicated local table gets the column, and the
-- Distributed table over it is created again with it: 18.16 refuses an
-- ALTER ... ON CLUSTER of a table that is not replicated on a cluster whose
-- shards are. It holds no rows (inserts are synchronous), so nothing is lost.
ALTER TABLE {{local "bins"}}{{on}} ADD COLUMN token_gen UInt64 DEFAULT 0;
{{- if .Cluster}}
DROP TABLE IF EXISTS {{table "bins"}}{{on}};
{{distributed "bins" "cityHash64(id)"}}
{{- end}}
