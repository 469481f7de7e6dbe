-- Readings committed but not yet filed into `readings` (edge/store/readings.ts). A commit lands
-- its readings here, and the writer files them into `readings`, with their seq and their rollups,
-- in (sensor, ts) order when enough have piled up per sensor (edge/store/filing.ts).
--
-- Why: `readings` is ordered by sensor in its (sensor_id, ts) index, so a commit carrying one
-- reading each from 10,000 sensors dirtied 10,000 index leaves and both rollup tables' pages for
-- each sensor, and every commit wrote them all to the WAL again: 9.6 KB written per 56-byte
-- reading once each sensor had its own leaf (bench/historian-writes.ts). Filing many readings per
-- sensor at once touches each leaf once per filing instead of once per commit.
--
-- Landed readings are as durable as filed ones (same database, same commit) and the queries read
-- both; the unique index keeps duplicates out here as the one on `readings` does there.
CREATE TABLE landing (
  sensor_id   INTEGER NOT NULL,
  ts          INTEGER NOT NULL,
  value       REAL    NOT NULL,
  quality     INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX landing_sensor_ts ON landing (sensor_id, ts);
