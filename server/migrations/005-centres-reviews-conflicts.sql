-- The server checks an event's dates instead of taking them (issue 10): per-centre time zone and
-- meal windows, months the bureau has closed, a general review table, and eventId conflicts.

-- A centre's own settings. A centre without a row has the defaults (Asia/Shanghai and
-- common/meal-windows.ts DEFAULT_MEAL_WINDOWS); NULL here means "the default" as well.
CREATE TABLE centres (
  centre_id    TEXT PRIMARY KEY,
  time_zone    TEXT,                      -- IANA name, e.g. Asia/Urumqi
  meal_windows TEXT,                      -- breakfast=06:00-09:00,lunch=11:00-13:30,...
  updated_at   TEXT NOT NULL
) STRICT;

-- Months whose figures the bureau has reported: an event dated in one is kept for review, never
-- added to a closed month's count. Bureau-wide (all centres).
CREATE TABLE closed_months (
  month     TEXT PRIMARY KEY CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'),
  closed_at TEXT NOT NULL,
  closed_by TEXT NOT NULL
) STRICT;

-- clock_reviews becomes event_reviews: the server now keeps events for review for reasons of its
-- own (see server/src/modules/meals/event-checks.ts), not only those the edge asks for. SQLite
-- cannot change a CHECK constraint in place, so the table is rebuilt; existing rows are kept.
--   unverified      the edge's clock was never verified in that run (edge)
--   outside-window  `at` falls in no meal window (edge, or the server with the centre's windows)
--   bad-date        serviceDate is not a calendar date (2026-02-30, 0000-00-00)
--   date-mismatch   serviceDate is not the centre's local date of `at`
--   meal-mismatch   `at` falls in another meal's window than `meal`
--   month-closed    serviceDate is in a month the bureau has closed
--   clock-unset     `at` is before the system existed (an unset clock)
--   clock-ahead     `at` is ahead of the server's receive time
--   too-old         `at` is older than the server accepts on arrival
CREATE TABLE event_reviews (
  event_id     TEXT PRIMARY KEY,
  reason       TEXT NOT NULL CHECK (reason IN ('unverified', 'outside-window', 'bad-date', 'date-mismatch', 'meal-mismatch', 'month-closed', 'clock-unset', 'clock-ahead', 'too-old')),
  detail       TEXT,                      -- what was wrong, in words, for the operator
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
  clock_flag   TEXT
) STRICT;
INSERT INTO event_reviews (event_id, reason, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_state, edge_at, mono_ms, clock_flag)
  SELECT event_id, reason, centre_id, device_id, elder_id, service_date, meal, at, method, score, camera_id, received_at, boot_id, seq, clock_state, edge_at, mono_ms, clock_flag FROM clock_reviews;
DROP TABLE clock_reviews;
CREATE INDEX event_reviews_received ON event_reviews (received_at);
CREATE INDEX event_reviews_reason ON event_reviews (reason);

-- An eventId the server already holds (in meals, duplicate_attempts or event_reviews) arrived
-- again with other content: a bug or a forgery. The new version is kept here, next to the
-- original (still where it was), receipted so the edge stops re-sending it, never counted. The
-- same conflicting version re-sent is one row (fingerprint: sha256 of the version's JSON).
CREATE TABLE event_conflicts (
  id             INTEGER PRIMARY KEY,
  event_id       TEXT NOT NULL,
  original_table TEXT NOT NULL CHECK (original_table IN ('meals', 'duplicate_attempts', 'event_reviews')),
  fingerprint    TEXT NOT NULL UNIQUE,
  version        TEXT NOT NULL,           -- the new version, as JSON
  received_at    TEXT NOT NULL
) STRICT;
CREATE INDEX event_conflicts_event ON event_conflicts (event_id);
