-- The boxes' daily aggregates (common/records.ts `daily`, issue 14 item 6): what each box counted
-- on each service date, per meal and method, the highest revision received. The records
-- themselves are in `records`; this is what reconciliation compares with the meals the server
-- counted from that box (server/src/modules/reconciliation/). Counts only, no elder.
CREATE TABLE box_daily_counts (
  centre_id    TEXT NOT NULL,
  device_id    TEXT NOT NULL,
  service_date TEXT NOT NULL,
  revision     INTEGER NOT NULL,
  counts       TEXT NOT NULL,            -- JSON [{meal, method, meals}], as the box sent it
  voided       INTEGER NOT NULL,
  event_id     TEXT NOT NULL,            -- the record of the held revision
  reported_at  TEXT NOT NULL,            -- the record's `at` (the box's trusted clock)
  received_at  TEXT NOT NULL,
  PRIMARY KEY (centre_id, service_date, device_id)
) STRICT;
