-- Clock sanity, second part: what the edge says about its clock (contract v1 `clock`, `monoMs`,
-- `edgeAt`, `review`, all optional), and events kept for review instead of being counted.
ALTER TABLE meals ADD COLUMN clock_state TEXT CHECK (clock_state IN ('server', 'system', 'corrected', 'unverified'));
ALTER TABLE meals ADD COLUMN edge_at TEXT;
ALTER TABLE meals ADD COLUMN mono_ms INTEGER;
ALTER TABLE duplicate_attempts ADD COLUMN clock_state TEXT;
ALTER TABLE duplicate_attempts ADD COLUMN edge_at TEXT;
ALTER TABLE duplicate_attempts ADD COLUMN mono_ms INTEGER;

-- Events whose time is not known well enough to count them: `unverified` (recorded by a box
-- with an untrusted clock in a run that ended before it learnt the time: serviceDate, meal and
-- `at` are the box's guesses) or `outside-window` (its corrected time fell in no meal window).
-- Receipted, so the edge forgets them; not in `meals`, so they neither count nor take the
-- elder's (date, meal) slot. An operator reviews them (GET /api/v1/stats/clock-review).
CREATE TABLE clock_reviews (
  event_id     TEXT PRIMARY KEY,
  reason       TEXT NOT NULL CHECK (reason IN ('unverified', 'outside-window')),
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
CREATE INDEX clock_reviews_received ON clock_reviews (received_at);
