-- millwright: without timescaledb
-- Plain PostgreSQL stand-in for 003_rollups.sql: the same names and columns as plain views,
-- aggregated when queried (no materialization, no compression, no retention). Answers are the
-- same; long ranges cost a scan of the raw rows through readings_gateway_sensor_time.
CREATE VIEW readings_1m AS
SELECT gateway, sensor, date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '2000-01-01') AS bucket,
       count(*) AS count,
       count(*) FILTER (WHERE quality = 2) AS bad,
       min(value) FILTER (WHERE quality < 2) AS min,
       max(value) FILTER (WHERE quality < 2) AS max,
       coalesce(sum(value) FILTER (WHERE quality < 2), 0) AS sum
  FROM readings
 GROUP BY gateway, sensor, bucket;

CREATE VIEW readings_1h AS
SELECT gateway, sensor, date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '2000-01-01') AS bucket,
       count(*) AS count,
       count(*) FILTER (WHERE quality = 2) AS bad,
       min(value) FILTER (WHERE quality < 2) AS min,
       max(value) FILTER (WHERE quality < 2) AS max,
       coalesce(sum(value) FILTER (WHERE quality < 2), 0) AS sum
  FROM readings
 GROUP BY gateway, sensor, bucket;
