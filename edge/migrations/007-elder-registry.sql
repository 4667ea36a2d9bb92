-- The elder registry on the box (issue 12, item 2): who an elder is, beyond a name and a face.
-- Every change is forwarded to the server as an `elder` record (common/records.ts) through the
-- outbox, in the transaction that makes it (edge/src/elders/registry-service.ts).
--
-- id_number  the 18-character resident ID-card number (checked with its check digit), or NULL
-- phone      a contact's phone number (the elder's own, or family's), or NULL
-- category   one of the bureau's categories (--elder-categories), or NULL before anyone set it
-- status     active: recognised at the door; suspended / deceased / moved: not in the gallery
--            (edge/src/main.ts loadGallery), so the door refuses them within a second
ALTER TABLE elders ADD COLUMN id_number TEXT CHECK (id_number IS NULL OR length(id_number) = 18);
ALTER TABLE elders ADD COLUMN phone TEXT CHECK (phone IS NULL OR length(phone) BETWEEN 3 AND 32);
ALTER TABLE elders ADD COLUMN category TEXT CHECK (category IS NULL OR length(category) BETWEEN 1 AND 32);
ALTER TABLE elders ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deceased', 'moved'));
ALTER TABLE elders ADD COLUMN updated_at TEXT;
-- One elder per ID card on a box: a second registration is the same person twice.
CREATE UNIQUE INDEX elders_id_number ON elders (id_number) WHERE id_number IS NOT NULL;
CREATE INDEX elders_status ON elders (status);

-- Each elder's revision: 1 at creation, +1 at every change (consent included), carried in the
-- record so the server never lets an older change overwrite a newer one. Not in `elders`: it
-- outlives a removal, so an elder registered again under the same id continues the count
-- instead of starting at 1 below what the server already holds.
CREATE TABLE elder_revisions (
  elder_id TEXT PRIMARY KEY,
  revision INTEGER NOT NULL CHECK (revision >= 1)
) STRICT;

-- Consent to face recognition (China's 2025 rules: separate consent, a non-face alternative).
-- One row per consent given; the newest not withdrawn is the one in force. text_version names a
-- file of --consent-dir (edge/consent/<version>.zh-CN.md), so what was signed can be shown again.
-- Removed with the elder (personal data); the server keeps its copy in the registry.
CREATE TABLE consents (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  elder_id      TEXT NOT NULL REFERENCES elders (elder_id) ON DELETE CASCADE,
  text_version  TEXT NOT NULL CHECK (length(text_version) BETWEEN 1 AND 64),
  signed_on     TEXT NOT NULL CHECK (signed_on GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  signed_by     TEXT NOT NULL CHECK (signed_by IN ('elder', 'guardian')),
  guardian_name TEXT CHECK ((signed_by = 'guardian') = (guardian_name IS NOT NULL)),
  staff_id      TEXT NOT NULL,
  recorded_at   TEXT NOT NULL,
  withdrawn_at  TEXT,
  withdrawn_by  TEXT
) STRICT;
CREATE INDEX consents_elder ON consents (elder_id, id);
