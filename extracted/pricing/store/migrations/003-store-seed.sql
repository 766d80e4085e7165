-- How the store was filled (issue 8): an empty store asks the CDC bridge for a snapshot of the
-- followed tables; the snapshot's id is kept here before the request goes out, so that a restart
-- mid-seeding follows the same snapshot instead of asking for a second one (cdc/consumer/store-seeding.ts).
CREATE TABLE cdc_seed (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  snapshot_id text,
  tables text[] NOT NULL DEFAULT '{}',
  state text NOT NULL CHECK (state IN ('requested', 'completed', 'failed')),
  requested_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
-- The history-stream fill this replaces marked an unfinished fill in stream_backfill: such a
-- store is incomplete, so it is seeded again from a snapshot.
INSERT INTO cdc_seed (state) SELECT 'failed' FROM stream_backfill LIMIT 1;
DROP TABLE stream_backfill;
