-- What the bureau sends down to this box (issue 14, items 1-3): the centre's config document as
-- last applied, the bureau's word on elders, and the erasures carried out here
-- (edge/src/bureau/config-service.ts). Kept so a box restarted offline keeps applying them.

-- The newest config document applied (common/contract.ts CentreConfigSchema), one row.
CREATE TABLE centre_config (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  version    INTEGER NOT NULL CHECK (version >= 1),
  document   TEXT NOT NULL,
  applied_at TEXT NOT NULL
) STRICT;

-- The bureau's status (and confirmed category) per elder, as the newest document said. It wins
-- over what staff set on the box: the registry refuses a staff status change against it.
CREATE TABLE bureau_elders (
  elder_id   TEXT PRIMARY KEY,
  status     TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deceased', 'moved')),
  since      TEXT NOT NULL,           -- YYYY-MM-DD, the day it took effect
  category   TEXT,
  version    INTEGER NOT NULL,        -- the document that said so
  applied_at TEXT NOT NULL
) STRICT;

-- Erasures carried out on this box, with what they deleted (counts, never the data): done once,
-- and named with these counts in every ack while the erasure stays in the document.
CREATE TABLE erasures_done (
  erasure_id   TEXT PRIMARY KEY,
  elder_id     TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  templates    INTEGER NOT NULL CHECK (templates >= 0),
  crops        INTEGER NOT NULL CHECK (crops >= 0),
  done_at      TEXT NOT NULL
) STRICT;
