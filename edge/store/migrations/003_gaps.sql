-- Gap markers (DESIGN guarantee 4): a span of time in which a source could read nothing — its
-- connection was lost, or it was connected but silent past its staleness limit. A gap is
-- opened with end_ms NULL and closed when values flow again (edge/store/gaps.ts).
-- Times are the agent's clock in ms since epoch: start_ms is when the last value was received
-- (or the loss, when none had been), end_ms when the first value after the gap was received.
CREATE TABLE gaps (
  id         INTEGER PRIMARY KEY,
  source     TEXT    NOT NULL,
  start_ms   INTEGER NOT NULL,
  end_ms     INTEGER,              -- NULL while the gap is open
  reason     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  CHECK (end_ms IS NULL OR end_ms >= start_ms)
);
-- At most one open gap per source; closing looks it up by source.
CREATE UNIQUE INDEX gaps_open_by_source ON gaps (source) WHERE end_ms IS NULL;
CREATE INDEX gaps_by_start ON gaps (start_ms);
