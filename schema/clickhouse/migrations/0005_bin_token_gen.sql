-- 0005: each bin's token generation (issue 12.7). Owner tokens and share
-- links carry the generation they were minted in; revoking increments it.
-- Bins written before this migration read as generation 0.
ALTER TABLE bins ADD COLUMN IF NOT EXISTS token_gen UInt64 DEFAULT 0;
