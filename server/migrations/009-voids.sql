-- Meals by hand and voids (issue 12, item 4).

-- A meal by hand (`manual`, `delivery`, `proxy`) names the staff member who recorded it, and a
-- `proxy` meal the person who collected it (contract v1 MealEvent.staffId, .proxyName, optional).
ALTER TABLE meals ADD COLUMN staff_id TEXT;
ALTER TABLE meals ADD COLUMN proxy_name TEXT;
ALTER TABLE duplicate_attempts ADD COLUMN staff_id TEXT;
ALTER TABLE duplicate_attempts ADD COLUMN proxy_name TEXT;

-- event_reviews gains the reason `no-staff` (a meal by hand without the staff id: nobody answers
-- for it) and the two columns. SQLite cannot change a CHECK constraint in place: rebuilt, rows kept.
CREATE TABLE event_reviews_new (
  event_id     TEXT PRIMARY KEY,
  reason       TEXT NOT NULL CHECK (reason IN ('unverified', 'outside-window', 'bad-date', 'date-mismatch', 'meal-mismatch', 'month-closed', 'clock-unset', 'clock-ahead', 'too-old', 'no-staff')),
  detail       TEXT,
  centre_id    TEXT NOT NULL,
  device_id    TEXT NOT NULL,
  elder_id     TEXT NOT NULL,
  service_date TEXT NOT NULL,
  meal         TEXT NOT NULL,
  at           TEXT NOT NULL,
  method       TEXT NOT NULL,
  score        REAL,
  camera_id    TEXT,
  received_at  TEXT NOT NULL,
  boot_id      TEXT,
  seq          INTEGER,
  clock_state  TEXT,
  edge_at      TEXT,
  mono_ms      INTEGER,
  clock_flag   TEXT,
  staff_id     TEXT,
  proxy_name   TEXT
) STRICT;
INSERT INTO event_reviews_new (event_id, reason, detail, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_state, edge_at, mono_ms, clock_flag)
  SELECT event_id, reason, detail, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_state, edge_at, mono_ms, clock_flag FROM event_reviews;
DROP TABLE event_reviews;
ALTER TABLE event_reviews_new RENAME TO event_reviews;
CREATE INDEX event_reviews_received ON event_reviews (received_at);
CREATE INDEX event_reviews_reason ON event_reviews (reason);

-- Meals voided by staff: moved here from `meals` (or from duplicate_attempts), whole, so `meals`
-- keeps holding exactly the meals that count and its UNIQUE (elder, date, meal) frees the slot
-- for the meal recorded instead. No UNIQUE here: an elder may have several voided meals in one
-- slot. Never deleted; counted as `voided` in the statistics.
CREATE TABLE voided_meals (
  event_id      TEXT PRIMARY KEY,
  centre_id     TEXT NOT NULL,
  device_id     TEXT NOT NULL,
  elder_id      TEXT NOT NULL,
  service_date  TEXT NOT NULL,
  meal          TEXT NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
  at            TEXT NOT NULL,
  method        TEXT NOT NULL CHECK (method IN ('face', 'manual', 'delivery', 'proxy')),
  score         REAL,
  camera_id     TEXT,
  received_at   TEXT NOT NULL,
  boot_id       TEXT,
  seq           INTEGER,
  clock_flag    TEXT,
  clock_state   TEXT,
  edge_at       TEXT,
  mono_ms       INTEGER,
  staff_id      TEXT,
  proxy_name    TEXT,
  void_event_id TEXT NOT NULL,           -- the void (meal_voids.event_id) that took it out
  voided_at     TEXT NOT NULL            -- server time the void took effect
) STRICT;
CREATE INDEX voided_meals_by_date ON voided_meals (service_date, centre_id, meal);

-- Every void received (the record itself is in `records`), and what became of it:
--   applied         its meal is in voided_meals: not counted
--   waiting         its meal has not arrived (batches out of order): applied when it does
--   other-centre    its meal belongs to another centre: kept for review, never applied
--   month-closed    its meal is in a month the bureau closed: kept for review, the meal still counts
--   already-voided  another void took the meal out first
--   not-counted     its meal is kept for review (event_reviews): nothing to take out
-- A void waiting for a meal that never comes stays `waiting`, listed for review.
CREATE TABLE meal_voids (
  event_id    TEXT PRIMARY KEY,
  centre_id   TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  voids       TEXT NOT NULL,             -- the eventId of the meal voided
  reason      TEXT NOT NULL,
  staff_id    TEXT NOT NULL,
  at          TEXT NOT NULL,
  received_at TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('applied', 'waiting', 'other-centre', 'month-closed', 'already-voided', 'not-counted')),
  settled_at  TEXT                       -- when it left `waiting` (or arrived settled)
) STRICT;
CREATE INDEX meal_voids_voids ON meal_voids (voids, state);
CREATE INDEX meal_voids_state ON meal_voids (state, received_at);

-- An eventId conflict may now name a voided meal as the original.
CREATE TABLE event_conflicts_new (
  id             INTEGER PRIMARY KEY,
  event_id       TEXT NOT NULL,
  original_table TEXT NOT NULL CHECK (original_table IN ('meals', 'duplicate_attempts', 'event_reviews', 'voided_meals')),
  fingerprint    TEXT NOT NULL UNIQUE,
  version        TEXT NOT NULL,
  received_at    TEXT NOT NULL
) STRICT;
INSERT INTO event_conflicts_new (id, event_id, original_table, fingerprint, version, received_at)
  SELECT id, event_id, original_table, fingerprint, version, received_at FROM event_conflicts;
DROP TABLE event_conflicts;
ALTER TABLE event_conflicts_new RENAME TO event_conflicts;
CREATE INDEX event_conflicts_event ON event_conflicts (event_id);

-- Promoting a duplicate attempt when its slot's meal is voided looks up the slot's attempts.
CREATE INDEX duplicate_attempts_slot ON duplicate_attempts (elder_id, service_date, meal);
