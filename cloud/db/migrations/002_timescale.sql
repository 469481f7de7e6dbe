-- millwright: requires timescaledb
-- Readings become a hypertable partitioned by time. One-day chunks: a gateway sending a few
-- thousand readings a second fills a day-sized chunk that still fits in memory while it is hot.
-- migrate_data covers a database that ran on plain PostgreSQL before TimescaleDB was added.
-- by_range needs TimescaleDB >= 2.13.
SELECT create_hypertable('readings', by_range('time', INTERVAL '1 day'), if_not_exists => true, migrate_data => true);
