-- Uploads the sender aborted are recorded, marked (issue 12). 18.16 has no
-- ADD COLUMN IF NOT EXISTS: migrate treats "column already exists" (code 15)
-- of an ADD COLUMN as done, which keeps a re-run idempotent.
-- On a cluster addColumn alters the replicated local table and makes the
-- Distributed table over it again (see migrate.go).
{{addColumn "requests" "aborted UInt8 DEFAULT 0" "cityHash64(bin_id)"}}
