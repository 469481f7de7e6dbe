-- 1-minute and 1-hour rollups of readings, maintained on ingest in the writer's transaction
-- (edge/store/rollups.ts), so long history queries read rollups, not millions of raw rows
-- (DESIGN "Performance shape"). Buckets are UTC-aligned: bucket_start = ts - ts % width.
--
-- Same semantics as shared/mcp/history.ts HistoryBucket: `count` is every stored reading,
-- `bad` those of quality 2; min, max and sum are over the others (quality < 2), so the average
-- is sum / (count - bad), and min/max are NULL when every reading of the bucket was bad.
-- first_ts/last_ts span every reading; last_value is the value of the reading at last_ts.
CREATE TABLE rollup_1m (
  sensor_id    INTEGER NOT NULL,
  bucket_start INTEGER NOT NULL,   -- ms since epoch, multiple of 60 000
  count        INTEGER NOT NULL,
  bad          INTEGER NOT NULL,
  min          REAL,
  max          REAL,
  sum          REAL    NOT NULL,
  first_ts     INTEGER NOT NULL,
  last_ts      INTEGER NOT NULL,
  last_value   REAL    NOT NULL,
  PRIMARY KEY (sensor_id, bucket_start)
) WITHOUT ROWID;

CREATE TABLE rollup_1h (
  sensor_id    INTEGER NOT NULL,
  bucket_start INTEGER NOT NULL,   -- ms since epoch, multiple of 3 600 000
  count        INTEGER NOT NULL,
  bad          INTEGER NOT NULL,
  min          REAL,
  max          REAL,
  sum          REAL    NOT NULL,
  first_ts     INTEGER NOT NULL,
  last_ts      INTEGER NOT NULL,
  last_value   REAL    NOT NULL,
  PRIMARY KEY (sensor_id, bucket_start)
) WITHOUT ROWID;

-- An upgraded historian: fold the readings it already holds. (sensor_id, ts) is unique, so the
-- value at last_ts is one row.
INSERT INTO rollup_1m (sensor_id, bucket_start, count, bad, min, max, sum, first_ts, last_ts, last_value)
SELECT g.sensor_id, g.bucket_start, g.count, g.bad, g.min, g.max, g.sum, g.first_ts, g.last_ts,
       (SELECT r.value FROM readings r WHERE r.sensor_id = g.sensor_id AND r.ts = g.last_ts)
  FROM (SELECT sensor_id, ts - ts % 60000 AS bucket_start, count(*) AS count, sum(quality = 2) AS bad,
               min(CASE WHEN quality < 2 THEN value END) AS min,
               max(CASE WHEN quality < 2 THEN value END) AS max,
               coalesce(sum(CASE WHEN quality < 2 THEN value END), 0.0) AS sum,
               min(ts) AS first_ts, max(ts) AS last_ts
          FROM readings GROUP BY sensor_id, bucket_start) g;

INSERT INTO rollup_1h (sensor_id, bucket_start, count, bad, min, max, sum, first_ts, last_ts, last_value)
SELECT g.sensor_id, g.bucket_start, g.count, g.bad, g.min, g.max, g.sum, g.first_ts, g.last_ts,
       (SELECT m.last_value FROM rollup_1m m WHERE m.sensor_id = g.sensor_id AND m.bucket_start = g.last_ts - g.last_ts % 60000)
  FROM (SELECT sensor_id, bucket_start - bucket_start % 3600000 AS bucket_start, sum(count) AS count, sum(bad) AS bad,
               min(min) AS min, max(max) AS max, sum(sum) AS sum, min(first_ts) AS first_ts, max(last_ts) AS last_ts
          FROM rollup_1m GROUP BY sensor_id, bucket_start - bucket_start % 3600000) g;
