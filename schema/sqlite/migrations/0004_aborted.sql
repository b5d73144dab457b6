-- 0004: uploads the sender aborted are recorded, marked (issue 12).
ALTER TABLE requests ADD COLUMN aborted INTEGER NOT NULL DEFAULT 0;
