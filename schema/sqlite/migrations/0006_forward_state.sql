-- 0006: the forward state (issue 18), derived from the forward JSON so the
-- write path is unchanged and rows written before states existed read as
-- delivered or failed (schema.Forward.StateOf). VIRTUAL: computed on read,
-- stored only in the index, which serves forward= on a bin.
ALTER TABLE requests ADD COLUMN forward_state TEXT GENERATED ALWAYS AS (
    CASE
        WHEN forward IS NULL THEN ''
        WHEN json_extract(forward, '$.state') IS NOT NULL THEN json_extract(forward, '$.state')
        WHEN coalesce(json_extract(forward, '$.error'), '') = ''
             AND json_extract(forward, '$.status') BETWEEN 200 AND 299 THEN 'delivered'
        ELSE 'failed'
    END) VIRTUAL;
CREATE INDEX IF NOT EXISTS requests_forward ON requests (bin_id, forward_state, received_at) WHERE forward IS NOT NULL;
