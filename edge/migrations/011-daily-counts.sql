-- The daily aggregate (common/records.ts `daily`): what this box last reported for each service
-- date, so it sends a new revision only when its counts change (a void the next morning, a held
-- check-in corrected) and never the same one twice. The record itself goes through the outbox.
CREATE TABLE daily_counts (
  service_date TEXT PRIMARY KEY,
  revision     INTEGER NOT NULL CHECK (revision >= 1),
  counts       TEXT NOT NULL,            -- canonical JSON of the record's counts and voided
  event_id     TEXT NOT NULL UNIQUE,     -- the record of this revision
  sent_at      TEXT NOT NULL             -- when it was queued (the box's trusted clock)
) STRICT;
