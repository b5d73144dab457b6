-- 0007: enforcement and redaction at ingest (issue 18): why a delivery was
-- refused ('' when accepted) and what was redacted (JSON, '' when nothing).
ALTER TABLE requests ADD COLUMN refused_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN redacted TEXT NOT NULL DEFAULT '';
