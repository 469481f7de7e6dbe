-- What each gateway last said about itself, for `gateway list` and the fleet views: its software
-- version (from the sync request's User-Agent) and its readings backlog when it sent.
ALTER TABLE gateways
  ADD COLUMN version     text,
  ADD COLUMN lag_records bigint,
  ADD COLUMN lag_seconds double precision;

-- Alarms raised on the edges, one row per (gateway, alarm id) holding the latest version: the
-- findings stream carries every change in order, and `updated_at` (edge time of the change) keeps
-- an older version from overwriting a newer one (a manager's acknowledgement made here, say).
CREATE TABLE alarms (
  id          text NOT NULL,
  gateway     text NOT NULL REFERENCES gateways (id),
  subject     text NOT NULL,
  severity    text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  state       text NOT NULL CHECK (state IN ('active', 'cleared')),
  raised_at   timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  cleared_at  timestamptz,
  acked_at    timestamptz,
  acked_by    text,
  ack_note    text,
  finding_id  text,
  message     text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway, id)
);
CREATE INDEX alarms_open ON alarms (gateway, severity) WHERE state = 'active' OR acked_at IS NULL;
CREATE INDEX alarms_subject ON alarms (subject, raised_at DESC);
