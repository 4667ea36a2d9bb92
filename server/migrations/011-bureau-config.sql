-- The bureau's registry of record and what goes down to the boxes (issue 14, items 1-3):
-- decisions on elders, each centre's versioned config document, erasures and the boxes' acks.
-- No biometric data: erasures name elders, never faces.

-- The bureau's decisions on elders, append-only: the newest per centre and elder is the one in
-- force. Kept apart from elder_registry, which every box revision overwrites: the bureau's word
-- must not be (server/src/modules/bureau/decision-repository.ts).
CREATE TABLE elder_decisions (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  centre_id    TEXT NOT NULL,
  elder_id     TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deceased', 'moved')),
  category     TEXT CHECK (category IS NULL OR length(category) BETWEEN 1 AND 32),  -- confirmed; NULL: the box's stands
  effective_on TEXT NOT NULL CHECK (effective_on GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  reason       TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  decided_by   TEXT NOT NULL,
  decided_at   TEXT NOT NULL
) STRICT;
CREATE INDEX elder_decisions_elder ON elder_decisions (centre_id, elder_id, id);

-- Each centre's config document as last issued (common/contract.ts CentreConfigSchema): `version`
-- grows by one whenever the document's content changes; `content` is the document without its
-- version and issuedAt, compared to tell a change from a rebuild. Published retained at every
-- change and at server start.
CREATE TABLE centre_configs (
  centre_id TEXT PRIMARY KEY,
  version   INTEGER NOT NULL CHECK (version >= 1),
  issued_at TEXT NOT NULL,
  content   TEXT NOT NULL,
  document  TEXT NOT NULL
) STRICT;

-- Erasures of an elder's face data at every box of a centre. Pending until every device of the
-- centre known to the server has acknowledged it (`completed_at`), then out of the document.
CREATE TABLE erasures (
  erasure_id   TEXT PRIMARY KEY,
  centre_id    TEXT NOT NULL,
  elder_id     TEXT NOT NULL,
  reason       TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  completed_at TEXT
) STRICT;
CREATE INDEX erasures_centre ON erasures (centre_id, completed_at);

-- One device's acknowledgement of one erasure, with what it deleted there (counts only).
CREATE TABLE erasure_acks (
  erasure_id TEXT NOT NULL REFERENCES erasures (erasure_id),
  centre_id  TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  templates  INTEGER NOT NULL CHECK (templates >= 0),
  crops      INTEGER NOT NULL CHECK (crops >= 0),
  acked_at   TEXT NOT NULL,   -- the ack record's `at` (the box's clock)
  PRIMARY KEY (erasure_id, device_id)
) STRICT;

-- The config version each device last acknowledged applying (never goes down).
CREATE TABLE device_configs (
  centre_id      TEXT NOT NULL,
  device_id      TEXT NOT NULL,
  config_version INTEGER NOT NULL,
  acked_at       TEXT NOT NULL,
  PRIMARY KEY (centre_id, device_id)
) STRICT;

-- Bureau-side changes are audited in `server_audit` (who, when, what), which migration 012
-- creates with its hash chain; nothing writes it before that migration has run.
