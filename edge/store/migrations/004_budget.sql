-- The disk budget's evictions (DESIGN guarantee 3: every drop is counted and reported, never
-- silent), kept so that the counts survive restarts and so that the outbox can tell the cloud
-- which sequence numbers of the readings stream will never arrive (edge/store/budget.ts).
--
-- One row covers consecutive evictions of one category: a later eviction extends the newest row
-- of its category when nothing still stored lies between them, so a budget that keeps evicting
-- the oldest synced readings run after run grows one row, not one per transaction.
--
-- from_key..to_key is what the category is keyed by: raw_synced and raw_unsynced, the readings
-- stream's seq (no reading still stored has a seq inside the range: seqs are never reused);
-- dead_letters, the dead letter id; rollup_1m and rollup_1h, bucket_start in ms (every sensor's
-- buckets in the range were evicted oldest first, so the range is informative, not exact).
CREATE TABLE evictions (
  id        INTEGER PRIMARY KEY,
  category  TEXT    NOT NULL,   -- raw_synced | dead_letters | raw_unsynced | rollup_1m | rollup_1h
  first_at  INTEGER NOT NULL,   -- agent clock, ms since epoch, of the first eviction in this row
  last_at   INTEGER NOT NULL,
  rows      INTEGER NOT NULL,   -- rows deleted, exact
  from_key  INTEGER NOT NULL,
  to_key    INTEGER NOT NULL,
  CHECK (to_key >= from_key AND rows >= 1)
);
-- The outbox asks for the raw ranges that reach above its acknowledged seq; the budget for the
-- newest row of a category.
CREATE INDEX evictions_by_category ON evictions (category, to_key);
