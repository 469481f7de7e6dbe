-- Findings and alarms: the latest version of each, for the edge's own answers (MCP), and a log of
-- every version in the order made, which is the `findings` sync stream (it carries both). A log
-- row stays until the cloud has it; the tables keep the current state for as long as retention says.
CREATE TABLE findings (
  id       TEXT    PRIMARY KEY,
  kind     TEXT    NOT NULL,
  subject  TEXT    NOT NULL,
  start    INTEGER NOT NULL,
  end_ts   INTEGER NOT NULL,
  severity TEXT    NOT NULL,
  body     TEXT    NOT NULL   -- the Finding as JSON (shared/finding.ts)
);
CREATE INDEX findings_subject_start ON findings (subject, start);

CREATE TABLE alarms (
  id         TEXT    PRIMARY KEY,
  subject    TEXT    NOT NULL,
  severity   TEXT    NOT NULL,
  state      TEXT    NOT NULL,   -- active | cleared
  acked      INTEGER NOT NULL,   -- 0 | 1
  raised_at  INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  body       TEXT    NOT NULL    -- the Alarm as JSON (shared/alarm.ts)
);
CREATE INDEX alarms_open ON alarms (raised_at) WHERE state = 'active' OR acked = 0;

-- AUTOINCREMENT: seqs are never reused, even once every acknowledged row is pruned, so the cloud's
-- watermark for this stream stays meaningful (DESIGN guarantee 2).
CREATE TABLE event_log (
  seq  INTEGER PRIMARY KEY AUTOINCREMENT,
  at   INTEGER NOT NULL,          -- gateway clock when logged
  body TEXT    NOT NULL           -- {"finding": …} or {"alarm": …}
);
INSERT INTO outbox (stream) VALUES ('findings');
