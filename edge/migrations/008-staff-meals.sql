-- Meals by hand and voids (issue 12, item 4).

-- Who recorded a meal by hand (`manual`, `delivery`, `proxy`), and for a `proxy` meal the name of
-- the person who collected it. NULL for face check-ins and rows from before this migration.
ALTER TABLE check_ins ADD COLUMN staff_id TEXT CHECK (staff_id IS NULL OR length(staff_id) BETWEEN 1 AND 64);
ALTER TABLE check_ins ADD COLUMN proxy_name TEXT CHECK (proxy_name IS NULL OR length(proxy_name) BETWEEN 1 AND 50);
-- The same for a meal by hand recorded while the clock was untrusted, so its corrected check-in keeps them.
ALTER TABLE unsynced_check_ins ADD COLUMN staff_id TEXT;
ALTER TABLE unsynced_check_ins ADD COLUMN proxy_name TEXT;

-- Check-ins voided by staff. A voided check-in leaves check_ins (which holds the meals that
-- count, one per elder per meal: its UNIQUE constraint stays the rule) and is kept here whole,
-- with the void: the elder may then be checked in again for that meal, and the void record
-- (common/records.ts, type `void`) goes to the server through the outbox in the same
-- transaction. Never deleted.
CREATE TABLE voided_check_ins (
  event_id      TEXT PRIMARY KEY,          -- the check-in voided (its meal event's eventId)
  elder_id      TEXT NOT NULL,
  service_date  TEXT NOT NULL,
  meal          TEXT NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
  at            TEXT NOT NULL,
  method        TEXT NOT NULL CHECK (method IN ('face', 'manual', 'delivery', 'proxy')),
  score         REAL,
  camera_id     TEXT,
  antispoof     REAL,
  staff_id      TEXT,
  proxy_name    TEXT,
  void_event_id TEXT NOT NULL UNIQUE,      -- the void record's eventId
  reason        TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  voided_by     TEXT NOT NULL,             -- staff id
  voided_at     TEXT NOT NULL
) STRICT;
CREATE INDEX voided_check_ins_day ON voided_check_ins (service_date);

-- Today's list and the regulars of a meal ("expected, not yet seen") read check-ins by date and meal.
CREATE INDEX check_ins_day_meal ON check_ins (service_date, meal, elder_id);
