-- The cloud schema on plain PostgreSQL (>= 14). TimescaleDB specifics live in later files that
-- are marked "requires timescaledb".

-- A gateway authenticates with its own token; only the SHA-256 of the token is kept.
CREATE TABLE gateways (
  id                  text PRIMARY KEY,
  site                text NOT NULL,
  token_hash          text NOT NULL UNIQUE,
  created_at          timestamptz NOT NULL DEFAULT now(),
  revoked_at          timestamptz,
  last_seen_at        timestamptz,
  -- cloud time minus gateway time at the last batch (includes the network transit time)
  last_clock_offset_ms bigint
);

-- One committed watermark per (gateway, stream), moved in the same transaction as the rows
-- (DESIGN guarantee 2): every record with seq <= watermark is in the cloud exactly once.
CREATE TABLE sync_watermarks (
  gateway    text NOT NULL REFERENCES gateways (id),
  stream     text NOT NULL CHECK (stream IN ('readings', 'findings')),
  watermark  bigint NOT NULL DEFAULT 0 CHECK (watermark >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway, stream)
);

CREATE TABLE readings (
  time        timestamptz NOT NULL,
  gateway     text NOT NULL,
  sensor      text NOT NULL,
  value       double precision NOT NULL,
  quality     smallint NOT NULL DEFAULT 0 CHECK (quality IN (0, 1, 2)), -- 0 good, 1 uncertain, 2 bad
  received_at timestamptz NOT NULL
);
-- History queries name the gateway: when the caller does not, the gateways come from `sensors`,
-- so one index serves both and ingest maintains only one.
CREATE INDEX readings_gateway_sensor_time ON readings (gateway, sensor, time DESC);

-- The sensors each gateway has sent, kept in the ingest transaction so that listing sensors and
-- counting readings never scans the readings table.
CREATE TABLE sensors (
  gateway    text NOT NULL REFERENCES gateways (id),
  sensor     text NOT NULL,
  first_time timestamptz NOT NULL,
  last_time  timestamptz NOT NULL,
  readings   bigint NOT NULL CHECK (readings >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway, sensor)
);
CREATE INDEX sensors_sensor ON sensors (sensor);

-- Finding ids are deterministic (shared/finding.ts), so a recomputed finding updates its row.
-- Keyed by gateway too: finding ids are deterministic per (kind, subject, detector, start), so
-- two gateways watching one sensor produce the same id and each must keep its own finding.
CREATE TABLE findings (
  id         text NOT NULL,
  gateway    text NOT NULL REFERENCES gateways (id),
  kind       text NOT NULL,
  subject    text NOT NULL,
  start      timestamptz NOT NULL,
  "end"      timestamptz NOT NULL,
  score      double precision NOT NULL,
  severity   text NOT NULL,
  detector   text NOT NULL,
  message    text NOT NULL,
  details    jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway, id)
);
CREATE INDEX findings_subject_start ON findings (subject, start DESC);
CREATE INDEX findings_gateway_start ON findings (gateway, start DESC);
