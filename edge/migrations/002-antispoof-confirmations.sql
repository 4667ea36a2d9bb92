-- Anti-spoof hint of face check-ins: 0..1, higher = more likely a live face (the median over
-- the frames that agreed on the elder). NULL = not measured (manual check-ins, engines without
-- the model, rows from before this migration). Kept on the edge; not part of the MQTT event.
ALTER TABLE check_ins ADD COLUMN antispoof REAL CHECK (antispoof BETWEEN 0 AND 1);

-- Face check-ins whose anti-spoof hint was below --antispoof-threshold: they wait here for
-- staff instead of being recorded. service_date, meal and at are those of the moment the elder
-- stood at the door; a confirmation records the check-in with them. Decided rows are kept for
-- audit (rejected ones are never forwarded). No foreign key to elders, like check_ins.
CREATE TABLE confirmations (
  id           TEXT PRIMARY KEY,
  elder_id     TEXT NOT NULL,
  service_date TEXT NOT NULL,
  meal         TEXT NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
  at           TEXT NOT NULL,
  method       TEXT NOT NULL CHECK (method IN ('face', 'manual', 'delivery', 'proxy')),
  score        REAL,
  camera_id    TEXT,
  antispoof    REAL CHECK (antispoof BETWEEN 0 AND 1),
  status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'rejected', 'superseded')),
  decided_at   TEXT,
  decided_by   TEXT,
  reason       TEXT,
  -- The check-in it became (confirmed) or that made it moot (superseded).
  event_id     TEXT
) STRICT;
-- At most one open confirmation per elder and meal: a second suspect attempt reuses it.
CREATE UNIQUE INDEX confirmations_open ON confirmations (elder_id, service_date, meal) WHERE status = 'pending';
CREATE INDEX confirmations_status_at ON confirmations (status, at);
