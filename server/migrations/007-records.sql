-- Records (common/records.ts): facts other than meals that staff make on an edge box (voids,
-- registry changes of elders, audit rows), forwarded through the same outbox and batches as
-- meals. Every record received is kept here as it arrived (validated against the contract, which
-- has no field for biometric data), once per eventId; each type's handler applies it to its own
-- tables in the same transaction (server/src/modules/records/record-ingest.ts).
CREATE TABLE records (
  event_id    TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  centre_id   TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  at          TEXT NOT NULL,
  payload     TEXT NOT NULL,   -- canonical JSON of the record
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX records_type ON records (type, centre_id, device_id);

-- A record whose eventId the server already held with other content: a bug or a hostile box,
-- never a re-send. The first version stays (and stays applied); each distinct later version is
-- kept here once for review, like event_conflicts for meals.
CREATE TABLE record_conflicts (
  id          INTEGER PRIMARY KEY,
  event_id    TEXT NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE,
  version     TEXT NOT NULL,   -- the new version, canonical JSON
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX record_conflicts_event ON record_conflicts (event_id);
