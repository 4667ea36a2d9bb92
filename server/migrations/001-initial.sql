-- Server schema v1. No biometric data: the wire contract carries none, and none is stored here.

-- One row per counted meal. event_id is the edge's UUIDv7, the idempotency key.
CREATE TABLE meals (
  event_id     TEXT PRIMARY KEY,
  centre_id    TEXT NOT NULL,
  device_id    TEXT NOT NULL,
  elder_id     TEXT NOT NULL,
  service_date TEXT NOT NULL,            -- YYYY-MM-DD, local to the centre
  meal         TEXT NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
  at           TEXT NOT NULL,            -- edge wall clock, ISO 8601
  method       TEXT NOT NULL CHECK (method IN ('face', 'manual', 'delivery', 'proxy')),
  score        REAL,
  camera_id    TEXT,
  received_at  TEXT NOT NULL,
  -- One subsidised meal per elder per window: a second check-in goes to duplicate_attempts.
  UNIQUE (elder_id, service_date, meal)
) STRICT;

CREATE INDEX meals_by_date ON meals (service_date, centre_id, meal);

-- Check-ins for an elder/date/meal that already has a meal under another eventId. Receipted
-- (the edge may forget them) but never counted.
CREATE TABLE duplicate_attempts (
  event_id          TEXT PRIMARY KEY,
  original_event_id TEXT NOT NULL,
  centre_id         TEXT NOT NULL,
  device_id         TEXT NOT NULL,
  elder_id          TEXT NOT NULL,
  service_date      TEXT NOT NULL,
  meal              TEXT NOT NULL,
  at                TEXT NOT NULL,
  method            TEXT NOT NULL,
  score             REAL,
  camera_id         TEXT,
  received_at       TEXT NOT NULL
) STRICT;

-- Messages the server could not accept. The same bad message re-sent by an edge bumps
-- `attempts` instead of adding rows, so a misbehaving box cannot fill the disk.
CREATE TABLE dead_letters (
  id               INTEGER PRIMARY KEY,
  fingerprint      TEXT NOT NULL UNIQUE,   -- sha256 of topic, reason and payload
  topic            TEXT NOT NULL,
  reason           TEXT NOT NULL,
  payload_excerpt  TEXT NOT NULL,          -- first 2 KB only
  payload_bytes    INTEGER NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 1,
  received_at      TEXT NOT NULL,
  last_received_at TEXT NOT NULL
) STRICT;

-- Edge boxes seen on the broker: from their events and their retained status topic.
CREATE TABLE devices (
  centre_id  TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  status     TEXT NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'online', 'offline')),
  status_at  TEXT,
  last_seen  TEXT NOT NULL,
  PRIMARY KEY (centre_id, device_id)
) STRICT;
