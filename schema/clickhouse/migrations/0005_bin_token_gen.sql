-- 0005: each bin's token generation (issue 12.7). Owner tokens and share
-- links carry the generation they were minted in; revoking increments it.
-- Bins written before this migration read as generation 0. (No IF NOT
-- EXISTS: 18.16 does not parse it; the migrations table runs this once.)
ALTER TABLE bins ADD COLUMN token_gen UInt64 DEFAULT 0;
