-- Subsidy rules and monthly settlement (issue 14, items 3 and 6). Money is integer fen.

-- The bureau's elder categories. `name` is what the boxes record as an elder's category
-- (the edge's --elder-categories, e.g. 低保), `code` what rules and reports use (low-income).
CREATE TABLE categories (
  code       TEXT PRIMARY KEY CHECK (code GLOB '[a-z0-9]*' AND length(code) BETWEEN 1 AND 32),
  name       TEXT NOT NULL UNIQUE,
  updated_at TEXT NOT NULL
) STRICT;

-- What the bureau pays per meal for an elder of a category, from effective_from to effective_to
-- (both inclusive, YYYY-MM-DD; NULL = open). Two rules of one category may not overlap in time
-- for the same meal, and `any` overlaps every meal (subsidy-rule-repository.ts refuses it), so
-- a meal has at most one rule on any day. Caps are NULL when there is none.
CREATE TABLE subsidy_rules (
  id                  INTEGER PRIMARY KEY,
  category            TEXT NOT NULL REFERENCES categories (code),
  meal                TEXT NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner', 'any')),
  amount_fen          INTEGER NOT NULL CHECK (amount_fen >= 0),
  max_per_day         INTEGER CHECK (max_per_day >= 1),
  max_meals_per_month INTEGER CHECK (max_meals_per_month >= 1),
  max_fen_per_month   INTEGER CHECK (max_fen_per_month >= 0),
  effective_from      TEXT NOT NULL,
  effective_to        TEXT CHECK (effective_to IS NULL OR effective_to >= effective_from),
  created_at          TEXT NOT NULL,
  created_by          TEXT NOT NULL
) STRICT;
CREATE INDEX subsidy_rules_category ON subsidy_rules (category, effective_from);

-- Corrections the bureau makes to a centre's month (an elder's or the centre's), + or - fen.
-- Never changed or deleted: a wrong one is undone by another. Refused for a closed month.
CREATE TABLE settlement_adjustments (
  id         INTEGER PRIMARY KEY,
  centre_id  TEXT NOT NULL,
  month      TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'),
  elder_id   TEXT,
  amount_fen INTEGER NOT NULL CHECK (amount_fen <> 0),
  reason     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL
) STRICT;
CREATE INDEX settlement_adjustments_month ON settlement_adjustments (centre_id, month);

-- The settlement of each centre as it stood when its month was closed: totals and a hash of
-- its rows, so a later change (a rule edited, a category changed) shows against the report.
CREATE TABLE settlement_snapshots (
  centre_id TEXT NOT NULL,
  month     TEXT NOT NULL,
  closed_at TEXT NOT NULL,
  totals    TEXT NOT NULL,             -- JSON: the report's totals
  rows_hash TEXT NOT NULL,             -- sha256 of the report's rows (settlement-calc.ts rowsHash)
  PRIMARY KEY (centre_id, month)
) STRICT;

-- Who changed categories, rules and adjustments. The columns of the server's audit log
-- (server_audit) so the rows can move there when the settlement audit is pointed at it.
CREATE TABLE settlement_audit (
  id      INTEGER PRIMARY KEY,
  at      TEXT NOT NULL,
  user_id TEXT,
  action  TEXT NOT NULL,
  subject TEXT,
  details TEXT NOT NULL              -- JSON
) STRICT;
