-- millwright: requires timescaledb
-- Long-range queries read 1-minute and 1-hour rollups instead of raw rows; old raw chunks are
-- compressed, and raw readings past a year are dropped (the rollups stay).
--
-- Same semantics as the edge's rollups (edge/store/migrations/002_rollups.sql): `count` is every
-- reading, `bad` those of quality 2, and min, max and sum are over the others, so the average is
-- sum / (count - bad). Real-time aggregation (materialized_only = false) adds the readings not yet
-- materialized, so an answer never lags ingest.
--
-- The refresh policies look back 300 days, inside the year of raw data that retention keeps: a
-- gateway that comes back from a long outage sends old readings, and their buckets must be
-- refreshed; a refresh window reaching into dropped chunks would delete their aggregates instead.

-- A database that ran on plain PostgreSQL had views of these names (004_rollups_plain.sql).
DROP VIEW IF EXISTS readings_1h;
DROP VIEW IF EXISTS readings_1m;

ALTER TABLE readings SET (
  timescaledb.compress,
  timescaledb.compress_segmentby = 'gateway, sensor',
  timescaledb.compress_orderby = 'time DESC'
);
SELECT add_compression_policy('readings', compress_after => INTERVAL '7 days', if_not_exists => true);
SELECT add_retention_policy('readings', drop_after => INTERVAL '365 days', if_not_exists => true);

CREATE MATERIALIZED VIEW readings_1m WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT gateway, sensor, time_bucket(INTERVAL '1 minute', time) AS bucket,
       count(*) AS count,
       count(*) FILTER (WHERE quality = 2) AS bad,
       min(value) FILTER (WHERE quality < 2) AS min,
       max(value) FILTER (WHERE quality < 2) AS max,
       coalesce(sum(value) FILTER (WHERE quality < 2), 0) AS sum
  FROM readings
 GROUP BY gateway, sensor, bucket
  WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_1m',
  start_offset => INTERVAL '300 days', end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute',
  if_not_exists => true);

CREATE MATERIALIZED VIEW readings_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT gateway, sensor, time_bucket(INTERVAL '1 hour', time) AS bucket,
       count(*) AS count,
       count(*) FILTER (WHERE quality = 2) AS bad,
       min(value) FILTER (WHERE quality < 2) AS min,
       max(value) FILTER (WHERE quality < 2) AS max,
       coalesce(sum(value) FILTER (WHERE quality < 2), 0) AS sum
  FROM readings
 GROUP BY gateway, sensor, bucket
  WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_1h',
  start_offset => INTERVAL '300 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes',
  if_not_exists => true);
