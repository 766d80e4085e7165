-- How the store was filled (issue 8): an empty PIM asks the CDC bridge for a snapshot of the
-- catalog tables; the snapshot's id is kept here before the request goes out, so that a restart
-- mid-seeding follows the same snapshot instead of asking for a second one (cdc/consumer/store-seeding.ts).
CREATE TABLE cdc_seed (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  snapshot_id text,
  tables text[] NOT NULL DEFAULT '{}',
  state text NOT NULL CHECK (state IN ('requested', 'completed', 'failed')),
  requested_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
-- A PIM whose first fill from the history stream never finished (no stream_filled_offset) but
-- holds rows is incomplete: it is seeded again from a snapshot.
INSERT INTO cdc_seed (state)
SELECT 'failed' WHERE NOT EXISTS (SELECT 1 FROM pim_sync_state WHERE key = 'stream_filled_offset')
  AND EXISTS (SELECT 1 FROM cdc_applied);
