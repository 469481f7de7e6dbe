-- The edge historian. One writer (the agent), any number of read-only readers (MCP).

-- Sensor names are stored once; readings refer to them by a small integer, which keeps a row
-- near 40 bytes on the SD card instead of repeating a 50-byte path.
CREATE TABLE sensors (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,
  first_seen INTEGER NOT NULL
);

-- seq is the readings stream's sequence number for exactly-once sync (DESIGN guarantee 2).
-- AUTOINCREMENT, because a plain rowid may reuse the largest seq after deletes, and a reused
-- seq would be taken by the cloud for a duplicate.
CREATE TABLE readings (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  sensor_id   INTEGER NOT NULL,
  ts          INTEGER NOT NULL,   -- source timestamp, ms since epoch
  value       REAL    NOT NULL,
  quality     INTEGER NOT NULL,   -- 0 good, 1 uncertain, 2 bad (shared/reading.ts)
  received_at INTEGER NOT NULL    -- gateway clock, ms since epoch
);
-- One reading per sensor and source timestamp: an MQTT QoS 1 redelivery (or a publisher's
-- resend after a lost PUBACK) is the same reading again, and must not reach the cloud twice.
CREATE UNIQUE INDEX readings_sensor_ts ON readings (sensor_id, ts);

-- The outbox: per stream, the highest seq the cloud has acknowledged as committed.
-- Records above it are pending; the sync client reads them in seq order.
CREATE TABLE outbox (
  stream          TEXT    PRIMARY KEY,
  acked_seq       INTEGER NOT NULL DEFAULT 0,
  last_success_at INTEGER,
  last_error      TEXT,
  last_error_at   INTEGER
);
INSERT INTO outbox (stream) VALUES ('readings');

-- Batches the cloud refused as invalid (4xx other than a sequence gap), kept with the reason.
CREATE TABLE rejected_batches (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  stream    TEXT    NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq  INTEGER NOT NULL,
  status    INTEGER,
  reason    TEXT    NOT NULL
);

-- Input that could not be turned into readings (DESIGN guarantee 5), with the raw bytes capped.
CREATE TABLE dead_letters (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  source    TEXT    NOT NULL,
  topic     TEXT,
  reason    TEXT    NOT NULL,
  raw       BLOB,
  raw_bytes INTEGER NOT NULL      -- size before capping
);
