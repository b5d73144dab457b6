-- 0005: each bin's token generation (issue 12.7). Owner tokens and share
-- links carry the generation they were minted in; revoking increments it.
-- Bins written before this migration read as generation 0. 18.16 has no
-- ADD COLUMN IF NOT EXISTS (it does not parse it): the runner treats
-- "column already exists" (a re-run after a crash before the migration was
-- recorded) as applied (columnExists).
-- On a cluster addColumn alters the replicated local table and makes the
-- Distributed table over it again (see migrate.go).
{{addColumn "bins" "token_gen UInt64 DEFAULT 0" "cityHash64(id)"}}
