-- Edge database, first version. Face descriptors live only here: they never leave this file.

CREATE TABLE elders (
  elder_id   TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- Several templates per elder (ID-card photo, live captures). The descriptor is 128 float32
-- little-endian (512 bytes); `source` names where it came from, e.g. the photo file name.
CREATE TABLE templates (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  elder_id   TEXT NOT NULL REFERENCES elders (elder_id) ON DELETE CASCADE,
  descriptor BLOB NOT NULL CHECK (length(descriptor) = 512),
  source     TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX templates_elder ON templates (elder_id);

-- One meal per elder per service date and meal window; the UNIQUE constraint is the last line
-- of defence if two cameras decide on the same elder at once. No foreign key to elders: the
-- meal history (and its subsidy) outlives an enrolment that is later erased.
CREATE TABLE check_ins (
  event_id     TEXT PRIMARY KEY,
  elder_id     TEXT NOT NULL,
  service_date TEXT NOT NULL,
  meal         TEXT NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
  at           TEXT NOT NULL,
  method       TEXT NOT NULL CHECK (method IN ('face', 'manual', 'delivery', 'proxy')),
  score        REAL,
  camera_id    TEXT,
  UNIQUE (elder_id, service_date, meal)
) STRICT;
CREATE INDEX check_ins_day ON check_ins (service_date);

-- Meal events waiting for the server's receipt. A row is written in the same transaction as
-- its check-in and deleted only when a receipt names its event_id (never on a broker PUBACK).
CREATE TABLE outbox (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id        TEXT NOT NULL UNIQUE,
  payload         TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_attempt_at TEXT
) STRICT;
