-- 0003: each bin's token generation (issue 12.7). Owner tokens and share
-- links carry the generation they were minted in; revoking increments it.
-- Bins created before this migration are at generation 0.
ALTER TABLE bins ADD COLUMN token_gen INTEGER NOT NULL DEFAULT 0;
