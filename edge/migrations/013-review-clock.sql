-- The review queue gains the kind `clock` (issue 13, item 3): a face check-in the clock rules
-- held for staff. While the box's clock is untrusted, a face the anti-spoof hint finds suspect
-- is not put into a hold (its date and meal would be guesses nothing corrects later); it is kept
-- here instead, and staff assign it (the meal is then recorded) or dismiss it.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt, rows and crops kept.
CREATE TABLE review_items_new (
  id              TEXT PRIMARY KEY,
  -- unknown: a face that stayed at the door and matched nobody; margin: close to an elder but
  -- inside the margin (ambiguous, cohort, no agreement); antispoof: a check-in held as a suspect
  -- (confirmation_id names the hold in `confirmations`); clock: a suspect face while the clock
  -- was untrusted (no hold: nothing was recorded).
  kind            TEXT NOT NULL CHECK (kind IN ('unknown', 'margin', 'antispoof', 'clock')),
  at              TEXT NOT NULL,
  camera_id       TEXT NOT NULL,
  -- The nearest elders, closest first: JSON [{"elderId": "E1", "distance": 0.52}, ...].
  nearest         TEXT NOT NULL DEFAULT '[]',
  crop            BLOB,
  confirmation_id TEXT,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'assigned', 'dismissed', 'expired')),
  decided_at      TEXT,
  decided_by      TEXT,
  -- Assigned: the elder, and the check-in it became.
  elder_id        TEXT,
  event_id        TEXT
) STRICT;
INSERT INTO review_items_new (id, kind, at, camera_id, nearest, crop, confirmation_id, status, decided_at, decided_by, elder_id, event_id)
  SELECT id, kind, at, camera_id, nearest, crop, confirmation_id, status, decided_at, decided_by, elder_id, event_id FROM review_items;
DROP TABLE review_items;
ALTER TABLE review_items_new RENAME TO review_items;
CREATE INDEX review_items_status_at ON review_items (status, at);
