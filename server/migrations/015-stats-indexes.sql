-- Indexes for the bureau's statistics and month settlement over a city-year (issue 15, item 3;
-- measured with `npm run bench:stats`). The settlement reads a month's meals per centre: this
-- index holds every column it reads, so the month is one range scan of the index, never a
-- look-up into the table per meal. Figures do not change: no data does.
CREATE INDEX meals_settlement ON meals (service_date, centre_id, elder_id, meal, method, at, event_id);
CREATE INDEX voided_meals_settlement ON voided_meals (service_date, centre_id, elder_id, meal, method, at, event_id);
CREATE INDEX duplicate_attempts_by_date ON duplicate_attempts (service_date, centre_id, elder_id);
ANALYZE;
