/**
 * Months the bureau has closed (reported its figures for). An event whose serviceDate falls in a
 * closed month is kept for review, never added to a figure already reported. Bureau-wide.
 */
import type { Db } from '../../../../common/sqlite.ts';

export interface ClosedMonth {
  /** YYYY-MM */
  month: string;
  closedAt: string;
  closedBy: string;
}

const monthRe = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** True for a real month YYYY-MM (0001-01 to 9999-12). */
export function isMonth(month: string): boolean {
  const m = monthRe.exec(month);
  return m !== null && Number(m[1]) >= 1;
}

export interface ClosedMonthRepository {
  /** Closes the month; closing it again keeps the first closing. `created` is false then. */
  close(month: string, closedBy: string, at: Date): { month: ClosedMonth; created: boolean };
  /** Oldest first. */
  list(): ClosedMonth[];
  /** The closed months, for ingest (a few dozen rows: read per batch, so a close applies at once). */
  closedSet(): ReadonlySet<string>;
}

export function createClosedMonthRepository(db: Db): ClosedMonthRepository {
  const insert = db.prepare<[string, string, string]>('INSERT INTO closed_months (month, closed_at, closed_by) VALUES (?, ?, ?) ON CONFLICT (month) DO NOTHING');
  const one = db.prepare<[string], ClosedMonth>('SELECT month, closed_at AS closedAt, closed_by AS closedBy FROM closed_months WHERE month = ?');
  const all = db.prepare<[], ClosedMonth>('SELECT month, closed_at AS closedAt, closed_by AS closedBy FROM closed_months ORDER BY month');
  const months = db.prepare<[], string>('SELECT month FROM closed_months').pluck();

  return {
    close(month, closedBy, at) {
      if (!isMonth(month)) throw new Error(`"${month.slice(0, 20)}" is not a month YYYY-MM`);
      const created = insert.run(month, at.toISOString(), closedBy).changes === 1;
      return { month: one.get(month)!, created };
    },
    list: () => all.all(),
    closedSet: () => new Set(months.all()),
  };
}
