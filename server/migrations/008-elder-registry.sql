-- The elder registry as the centres' boxes report it (issue 12, item 2): one row per elder of a
-- centre, the newest revision received. Every `elder` record itself is kept in `records`
-- (migration 007) once per eventId; this table is what they add up to. An older revision
-- arriving after a newer one (a box's outbox re-sending out of order, a replayed batch) is kept
-- in `records` but never overwrites the row (server/src/modules/elders/elder-registry.ts).
-- No biometric data: the contract has no field for it.
--
-- Keyed by centre and elder: an elder's revision counts the changes on one centre's box, so a
-- box elsewhere registering the same id starts its own count.
CREATE TABLE elder_registry (
  centre_id         TEXT NOT NULL,
  elder_id          TEXT NOT NULL,
  device_id         TEXT NOT NULL,           -- the box that sent the revision held
  revision          INTEGER NOT NULL,
  removed           INTEGER NOT NULL CHECK (removed IN (0, 1)),
  name              TEXT,                    -- NULL only for an elder removed before any other revision arrived
  id_number         TEXT,                    -- 18 characters, checked; shown masked unless asked for
  phone             TEXT,
  category          TEXT,
  status            TEXT CHECK (status IN ('active', 'suspended', 'deceased', 'moved')),
  consent_version   TEXT,
  consent_signed_on TEXT,
  consent_signed_by TEXT CHECK (consent_signed_by IN ('elder', 'guardian')),
  consent_guardian  TEXT,
  consent_staff_id  TEXT,
  change            TEXT,                    -- what the held revision changed: created, updated, status, consent, ...
  staff_id          TEXT,                    -- who made it
  changed_at        TEXT NOT NULL,           -- the record's `at` (the box's trusted clock)
  event_id          TEXT NOT NULL,           -- the record of the held revision
  received_at       TEXT NOT NULL,
  PRIMARY KEY (centre_id, elder_id)
) STRICT;
CREATE INDEX elder_registry_status ON elder_registry (status, centre_id);
