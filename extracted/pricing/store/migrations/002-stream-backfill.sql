-- Marks a fill from the CDC history stream as begun and not yet finished. The fill is skipped on a
-- start that finds both the queue and applied rows — unless this row says the last fill was
-- interrupted (a SIGTERM mid-fill): then what the stream holds from before the queue was bound
-- may still be missing, and the fill runs again from the first offset.
CREATE TABLE stream_backfill (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  started_at timestamptz NOT NULL DEFAULT now()
);
