-- Bureau users, roles, sign-in and the server's own audit log (issue 14, item 4), and districts
-- that group centres (an analyst sees the centres of their districts).

CREATE TABLE districts (
  district_id TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;

-- A centre's name and district; NULL for a centre not given them yet (it still has the defaults).
ALTER TABLE centres ADD COLUMN name TEXT;
ALTER TABLE centres ADD COLUMN district_id TEXT REFERENCES districts (district_id);
CREATE INDEX centres_district ON centres (district_id);

-- Bureau users. Only a scrypt hash of the password (common/secret-hash.ts) is kept. A manager has
-- one centre; an analyst has districts (user_districts); admin and auditor see every centre.
CREATE TABLE users (
  user_id       TEXT PRIMARY KEY,
  display_name  TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'manager', 'auditor')),
  password_hash TEXT NOT NULL,
  centre_id     TEXT,
  disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  CHECK ((role = 'manager') = (centre_id IS NOT NULL))
) STRICT;

CREATE TABLE user_districts (
  user_id     TEXT NOT NULL REFERENCES users (user_id),
  district_id TEXT NOT NULL REFERENCES districts (district_id),
  PRIMARY KEY (user_id, district_id)
) STRICT;

-- Page sessions. Only the sha256 of the cookie's random token is kept, so a copy of the table
-- signs nobody in; any server instance on this database resolves the cookie.
CREATE TABLE sessions (
  token_hash   TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users (user_id),
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at   TEXT NOT NULL              -- the absolute end; idle expiry is last_seen_at + the idle setting
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

-- API tokens for integrations: a bearer token acting as its user. Shown once; the sha256 is kept.
CREATE TABLE api_tokens (
  token_id     TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users (user_id),
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  created_at   TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed sign-ins per (user id as typed, source address): a lock-out after a few, for minutes.
-- Keyed by what was typed, so an unknown user id is locked out exactly like a known one.
CREATE TABLE login_failures (
  key          TEXT PRIMARY KEY,
  failures     INTEGER NOT NULL,
  first_at     TEXT NOT NULL,
  locked_until TEXT
) STRICT;

-- What bureau users did on the server, append-only and hash-chained like the boxes' audit logs
-- (common/audit-chain.ts: seq = id, staffId = user_id).
CREATE TABLE server_audit (
  id        INTEGER PRIMARY KEY,
  at        TEXT NOT NULL,
  user_id   TEXT,
  action    TEXT NOT NULL,
  subject   TEXT,
  details   TEXT NOT NULL,                -- JSON object, flat
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
) STRICT;
CREATE INDEX server_audit_at ON server_audit (at);
