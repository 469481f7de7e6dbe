-- What the cloud pushed back and this gateway applied (shared/pushback.ts, edge/sync/pushback.ts).
-- Kept so that a restart runs with the remote settings in force and does not fetch models again.
CREATE TABLE remote_config (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  version         INTEGER NOT NULL DEFAULT 0,   -- in force; 0: none
  settings        TEXT    NOT NULL DEFAULT '{}',
  applied_at      INTEGER,
  refused_version INTEGER,                      -- the last version refused, and why
  refused_reason  TEXT
);
INSERT INTO remote_config (id) VALUES (1);

CREATE TABLE models (
  name         TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  sha256       TEXT    NOT NULL,
  file         TEXT    NOT NULL,               -- relative to the data directory
  installed_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
);
