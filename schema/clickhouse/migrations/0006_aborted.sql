-- Uploads the sender aborted are recorded, marked (issue 12). 18.16 has no
-- ADD COLUMN IF NOT EXISTS: migrate treats "column already exists" (code 15)
-- of an ADD COLUMN as done, which keeps a re-run idempotent.
-- On a cluster the replicated local table gets the column, and the
-- Distributed table over it is created again with it: 18.16 refuses an
-- ALTER ... ON CLUSTER of a table that is not replicated on a cluster whose
-- shards are. It holds no rows (inserts are synchronous), so nothing is lost.
ALTER TABLE {{local "requests"}}{{on}} ADD COLUMN aborted UInt8 DEFAULT 0;
{{- if .Cluster}}
DROP TABLE IF EXISTS {{table "requests"}}{{on}};
{{distributed "requests" "cityHash64(bin_id)"}}
{{- end}}
