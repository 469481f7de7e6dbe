-- The channel back to the edges (shared/pushback.ts): remote settings, trained models and
-- managers' alarm acknowledgements, handed out in the replies to each gateway's requests.

-- Remote settings per gateway; every change takes the next version.
CREATE TABLE gateway_config (
  gateway    text PRIMARY KEY REFERENCES gateways (id),
  version    integer NOT NULL CHECK (version >= 1),
  settings   jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);

-- What each gateway last said it has applied (every request carries it).
ALTER TABLE gateways
  ADD COLUMN config_applied integer NOT NULL DEFAULT 0,
  ADD COLUMN config_refused jsonb,
  ADD COLUMN models_applied jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Trained models, versioned per name, for every site (site NULL) or one.
CREATE TABLE models (
  name       text NOT NULL,
  version    integer NOT NULL CHECK (version >= 1),
  site       text,
  sha256     text NOT NULL,
  bytes      integer NOT NULL,
  content    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);

-- Acknowledgements made in the cloud, until their gateway reports it handled them.
CREATE TABLE alarm_acks (
  gateway      text NOT NULL REFERENCES gateways (id),
  alarm_id     text NOT NULL,
  by           text NOT NULL,
  at           timestamptz NOT NULL,
  note         text,
  delivered_at timestamptz,
  PRIMARY KEY (gateway, alarm_id)
);
CREATE INDEX alarm_acks_pending ON alarm_acks (gateway) WHERE delivered_at IS NULL;
