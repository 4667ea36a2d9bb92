-- Staff accounts, their sessions, and the audit log of every staff action (issue 12).

-- A removed account keeps its row (removed_at set): the audit log names staff by id for ever,
-- so an id is never given to someone else.
CREATE TABLE staff (
  staff_id        TEXT PRIMARY KEY CHECK (length(staff_id) BETWEEN 1 AND 64),
  name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  role            TEXT NOT NULL CHECK (role IN ('staff', 'manager')),
  -- scrypt$N$r$p$salt$hash (edge/src/staff/pin-hash.ts); never the PIN itself.
  pin_hash        TEXT NOT NULL,
  -- A generated or reset PIN is shown once; its holder must choose their own at the next login.
  must_change_pin INTEGER NOT NULL DEFAULT 0 CHECK (must_change_pin IN (0, 1)),
  -- Wrong PINs since the last good login; at the limit the account locks until locked_until.
  failed_logins   INTEGER NOT NULL DEFAULT 0,
  locked_until    TEXT,
  created_at      TEXT NOT NULL,
  removed_at      TEXT
) STRICT;

-- Only the sha256 of a session token is stored: a copy of edge.db does not log anyone in.
CREATE TABLE staff_sessions (
  token_hash   TEXT PRIMARY KEY,
  staff_id     TEXT NOT NULL REFERENCES staff (staff_id),
  -- Sent back with every state-changing request (form field or header), compared timing-safe.
  csrf_token   TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at   TEXT NOT NULL
) STRICT;
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- Append-only, hash-chained (common/audit-chain.ts): hash = sha256 of the row's canonical form,
-- prev_hash included, so a changed, removed or inserted row breaks every hash after it.
-- details is JSON and never holds biometric data or PINs.
CREATE TABLE audit_log (
  seq       INTEGER PRIMARY KEY,
  event_id  TEXT NOT NULL UNIQUE,
  at        TEXT NOT NULL,
  staff_id  TEXT,
  action    TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
  subject   TEXT,
  details   TEXT NOT NULL,
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: rows are never changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: rows are never deleted');
END;
