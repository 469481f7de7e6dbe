-- What a source read back of a gap from the server's history (OPC-UA HistoryRead), so that a gap
-- that was filled does not look like one that lost everything. NULL: no backfill was tried.
-- backfill: complete | partial (capped, clipped, stopped, or some nodes without history) |
-- unsupported (no node had history) | failed; backfilled_values: values the server returned.
ALTER TABLE gaps ADD COLUMN backfill TEXT;
ALTER TABLE gaps ADD COLUMN backfilled_values INTEGER;
