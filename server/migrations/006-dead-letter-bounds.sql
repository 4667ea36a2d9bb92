-- Dead letters are bounded (see dead-letter-repository.ts): per device and in total, by rows and
-- by bytes. `device_key` is "<centre>/<device>" from the topic (a device's login is bound to its
-- topics), "" for rows from before this migration; `stored_bytes` is what the row keeps.
ALTER TABLE dead_letters ADD COLUMN device_key TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE dead_letters SET stored_bytes = length(CAST(payload_excerpt AS BLOB)) + length(CAST(reason AS BLOB)) + length(CAST(topic AS BLOB));
CREATE INDEX dead_letters_device ON dead_letters (device_key);

-- What was not kept because a bound was reached or a device sent junk too fast: counted per
-- device, so the alarm and its cause survive a restart.
CREATE TABLE dead_letter_drops (
  device_key    TEXT PRIMARY KEY,
  dropped       INTEGER NOT NULL,
  dropped_bytes INTEGER NOT NULL,
  first_at      TEXT NOT NULL,
  last_at       TEXT NOT NULL,
  last_reason   TEXT NOT NULL             -- 'device-rows' | 'device-bytes' | 'total-rows' | 'total-bytes' | 'rate'
) STRICT;
