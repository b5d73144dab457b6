-- 0005: what a delivery says about itself and its retry chain (issue 17).
ALTER TABLE requests ADD COLUMN event_type TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN delivery_id TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN duplicate_of BLOB;
-- Retry chains and delivery_id= look rows up by delivery id; partial, so
-- requests without one (most) cost nothing more on the capture path.
CREATE INDEX IF NOT EXISTS requests_delivery ON requests (bin_id, delivery_id, received_at) WHERE delivery_id != '';
