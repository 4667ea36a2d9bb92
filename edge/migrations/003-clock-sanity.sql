-- Clock sanity (a box without a real-time clock may start at 1970 or at its last shutdown).

-- Outbox rows of check-ins recorded while the clock was untrusted are held (not sent) until this
-- run learns the time from the server and rewrites them, or until a later run sends them as
-- unverified (see edge/src/sync/clock-correction.ts).
ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1));

-- The latest time the edge trusted (from the server, or a plausible system clock), saved now and
-- then: a later start whose system clock is before it knows that clock is wrong.
CREATE TABLE clock_checkpoint (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  trusted_at TEXT NOT NULL,
  source     TEXT NOT NULL CHECK (source IN ('server', 'system')),
  boot_id    TEXT NOT NULL
) STRICT;

-- Check-ins recorded while the clock was untrusted. Not in check_ins: their service date and
-- meal are unknown until the time is known. mono_ms is the time since the run `boot_id` started
-- (a clock nobody sets); edge_at the box's wrong wall clock. Resolved rows stay for audit.
--   held           waiting for the time (its outbox row is held too)
--   corrected      the time came: it is now the check-in event_id in check_ins
--   duplicate      the corrected meal was already checked in (original_event_id); sent anyway,
--                  so the server keeps it as a duplicate attempt
--   outside-window the corrected time was in no meal window; sent for review, not as a meal
--   unverified     its run ended before learning the time; sent for review, not as a meal
CREATE TABLE unsynced_check_ins (
  event_id          TEXT PRIMARY KEY,
  elder_id          TEXT NOT NULL,
  boot_id           TEXT NOT NULL,
  mono_ms           INTEGER NOT NULL,
  edge_at           TEXT NOT NULL,
  method            TEXT NOT NULL CHECK (method IN ('face', 'manual', 'delivery', 'proxy')),
  score             REAL,
  camera_id         TEXT,
  status            TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'corrected', 'duplicate', 'outside-window', 'unverified')),
  at                TEXT,
  service_date      TEXT,
  meal              TEXT CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
  original_event_id TEXT,
  resolved_at       TEXT
) STRICT;
CREATE INDEX unsynced_check_ins_open ON unsynced_check_ins (status, boot_id, elder_id, mono_ms);
