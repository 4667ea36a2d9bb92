-- Templates know their model (issue 11): `model` is the recognizer's id (`face-api`, or the id of
-- a `recognizers` entry of models/manifest.json) and `dim` its values per descriptor. The matcher
-- loads one model's templates only: two models' descriptors are never compared. Rows from before
-- this migration are face-api's 128-d descriptors, hence the defaults.
--
-- A rebuild, not ALTER TABLE ADD COLUMN: the old CHECK fixed every descriptor at 512 bytes
-- (128 float32), which a 512-d model (2048 bytes) breaks, and SQLite cannot drop a CHECK.
CREATE TABLE templates_new (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  elder_id   TEXT NOT NULL REFERENCES elders (elder_id) ON DELETE CASCADE,
  descriptor BLOB NOT NULL,
  source     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  model      TEXT NOT NULL DEFAULT 'face-api' CHECK (length(model) BETWEEN 1 AND 64),
  dim        INTEGER NOT NULL DEFAULT 128 CHECK (dim > 0),
  CHECK (length(descriptor) = dim * 4)
) STRICT;
INSERT INTO templates_new (id, elder_id, descriptor, source, created_at)
  SELECT id, elder_id, descriptor, source, created_at FROM templates;
-- Keep the AUTOINCREMENT counter: ids are never reused (templatesVersion relies on it), also for
-- templates deleted before this migration. DROP removes templates' row, RENAME renames this one.
DELETE FROM sqlite_sequence WHERE name = 'templates_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'templates_new', seq FROM sqlite_sequence WHERE name = 'templates';
DROP TABLE templates;
ALTER TABLE templates_new RENAME TO templates;
-- By elder (removal, counts) and by elder and model (who lacks a template of the current model).
CREATE INDEX templates_elder ON templates (elder_id, model);
