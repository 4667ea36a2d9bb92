-- The review queue (issue 13, item 3): decisions at the door that need a person. Each keeps a
-- small face crop (JPEG, at most 160 px a side) on this box only, until staff decide or the
-- retention period (--review-retention-hours) ends; then `crop` is set to NULL and the row stays
-- as a record of what was decided. Crops never leave the box: no outbox row, log line or MQTT
-- payload carries them.
CREATE TABLE review_items (
  id              TEXT PRIMARY KEY,
  -- unknown: a face that stayed at the door and matched nobody; margin: close to an elder but
  -- inside the margin (ambiguous, cohort, no agreement); antispoof: a check-in held as a suspect
  -- (confirmation_id names the hold in `confirmations`).
  kind            TEXT NOT NULL CHECK (kind IN ('unknown', 'margin', 'antispoof')),
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
CREATE INDEX review_items_status_at ON review_items (status, at);
