-- EventIds the server named as conflicts in a receipt (contract v1 Receipt.conflicts): it already
-- held that eventId with other content, kept this box's version for review and did not count it.
-- The outbox row is deleted as for any receipt; this row keeps what was sent, for staff and audit.
CREATE TABLE receipt_conflicts (
  event_id    TEXT PRIMARY KEY,
  payload     TEXT,                       -- the event as this box sent it, when the outbox still had it
  received_at TEXT NOT NULL               -- when the receipt naming it arrived
) STRICT;
