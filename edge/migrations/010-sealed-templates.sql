-- Face templates sealed at rest (issue 16): each descriptor is AES-256-GCM encrypted under the
-- box's template key, a file outside the data folder (edge/src/elders/template-vault.ts).
-- `sealed` = 1: descriptor is 0x01 | iv (12) | tag (16) | ciphertext (dim * 4 bytes).
-- `sealed` = 0: a plain descriptor written before this migration; the first start with the key
-- seals every such row in one transaction, so none stays plain after it.
--
-- A rebuild, not ALTER TABLE ADD COLUMN: the old CHECK fixed the BLOB at dim * 4 bytes.
CREATE TABLE templates_new (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  elder_id   TEXT NOT NULL REFERENCES elders (elder_id) ON DELETE CASCADE,
  descriptor BLOB NOT NULL,
  source     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  model      TEXT NOT NULL DEFAULT 'face-api' CHECK (length(model) BETWEEN 1 AND 64),
  dim        INTEGER NOT NULL DEFAULT 128 CHECK (dim > 0),
  sealed     INTEGER NOT NULL DEFAULT 0 CHECK (sealed IN (0, 1)),
  CHECK ((sealed = 0 AND length(descriptor) = dim * 4) OR (sealed = 1 AND length(descriptor) = dim * 4 + 29))
) STRICT;
INSERT INTO templates_new (id, elder_id, descriptor, source, created_at, model, dim, sealed)
  SELECT id, elder_id, descriptor, source, created_at, model, dim, 0 FROM templates;
-- Keep the AUTOINCREMENT counter (templatesVersion relies on ids never being reused).
DELETE FROM sqlite_sequence WHERE name = 'templates_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'templates_new', seq FROM sqlite_sequence WHERE name = 'templates';
DROP TABLE templates;
ALTER TABLE templates_new RENAME TO templates;
CREATE INDEX templates_elder ON templates (elder_id, model);

-- Which key sealed them: an HMAC fingerprint of the key (never the key), so a start with another
-- key file is told apart from a first start.
CREATE TABLE template_key (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  fingerprint TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;
