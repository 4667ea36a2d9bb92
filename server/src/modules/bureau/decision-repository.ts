/**
 * The bureau's decisions on elders (registry of record, issue 14 item 1): it confirms an elder's
 * category and eligibility (`active`), suspends, reactivates, marks deceased or moved, each with
 * the day it took effect, who decided and why. Append-only (server migration 010
 * `elder_decisions`): the newest decision per centre and elder is in force, the rest are history.
 *
 * The effective view joins them with what the boxes report (`elder_registry`): the bureau's
 * status and confirmed category win; the box's data stands otherwise. Box revisions overwrite
 * `elder_registry`, never a decision.
 */
import type { ElderStatus } from '../../../../common/records.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { idNumberKeyOf } from '../elders/id-number-key.ts';

export interface Decision {
  id: number;
  centreId: string;
  elderId: string;
  status: ElderStatus;
  /** The category the bureau confirmed; null: the box's stands. */
  category: string | null;
  /** YYYY-MM-DD: the day it took effect (died on, moved on, suspended from). */
  effectiveOn: string;
  reason: string;
  decidedBy: string;
  decidedAt: string;
}

export type DecisionInput = Omit<Decision, 'id' | 'decidedAt'>;

/** One elder as the bureau sees them: the box's registry entry and the decision in force. */
export interface EffectiveElder {
  centreId: string;
  elderId: string;
  name: string | null;
  /** As stored; the route masks it. */
  idNumber: string | null;
  removed: boolean;
  /** The decision's status when there is one, else the box's. */
  status: ElderStatus | null;
  category: string | null;
  /** Where `status` comes from. */
  statusSource: 'bureau' | 'box';
  boxStatus: ElderStatus | null;
  boxCategory: string | null;
  decision: Decision | null;
}

export interface DecisionRepository {
  add(d: DecisionInput, at: Date): Decision;
  history(centreId: string, elderId: string): Decision[];
  /** The decisions in force for one centre, by elder id. */
  current(centreId: string): Decision[];
  /** The effective view of a centre's elders (removed ones only when asked), by id. */
  effective(q: { centreId: string; status?: ElderStatus; includeRemoved?: boolean; limit: number; offset: number }): { elders: EffectiveElder[]; total: number };
  effectiveOne(centreId: string, elderId: string): EffectiveElder | undefined;
  /** Centres with at least one decision. */
  centres(): string[];
  /** Changes with every new decision, by any process (the config publisher polls it). */
  stamp(): number;
}

interface DecisionRow extends Omit<Decision, 'status'> {
  status: ElderStatus;
}

interface EffectiveRow {
  centreId: string;
  elderId: string;
  name: string | null;
  idNumber: string | null;
  removed: number;
  boxStatus: ElderStatus | null;
  boxCategory: string | null;
  dId: number | null;
  dStatus: ElderStatus | null;
  dCategory: string | null;
  dEffectiveOn: string | null;
  dReason: string | null;
  dDecidedBy: string | null;
  dDecidedAt: string | null;
}

const decisionCols = 'id, centre_id AS centreId, elder_id AS elderId, status, category, effective_on AS effectiveOn, reason, decided_by AS decidedBy, decided_at AS decidedAt';

function toEffective(r: EffectiveRow, reveal: (sealed: string | null) => string | null): EffectiveElder {
  const decision: Decision | null =
    r.dId === null
      ? null
      : { id: r.dId, centreId: r.centreId, elderId: r.elderId, status: r.dStatus!, category: r.dCategory, effectiveOn: r.dEffectiveOn!, reason: r.dReason!, decidedBy: r.dDecidedBy!, decidedAt: r.dDecidedAt! };
  return {
    centreId: r.centreId,
    elderId: r.elderId,
    name: r.name,
    idNumber: reveal(r.idNumber),
    removed: r.removed === 1,
    status: decision ? decision.status : r.boxStatus,
    category: decision?.category ?? r.boxCategory,
    statusSource: decision ? 'bureau' : 'box',
    boxStatus: r.boxStatus,
    boxCategory: r.boxCategory,
    decision,
  };
}

export function createDecisionRepository(db: Db): DecisionRepository {
  // ID numbers are stored sealed (elders/id-number-key.ts): opened here as they are read.
  const key = idNumberKeyOf(db);
  const insert = db.prepare<{ centreId: string; elderId: string; status: string; category: string | null; effectiveOn: string; reason: string; decidedBy: string; decidedAt: string }>(
    `INSERT INTO elder_decisions (centre_id, elder_id, status, category, effective_on, reason, decided_by, decided_at)
     VALUES (@centreId, @elderId, @status, @category, @effectiveOn, @reason, @decidedBy, @decidedAt)`,
  );
  const byId = db.prepare<[number | bigint], DecisionRow>(`SELECT ${decisionCols} FROM elder_decisions WHERE id = ?`);
  const history = db.prepare<[string, string], DecisionRow>(`SELECT ${decisionCols} FROM elder_decisions WHERE centre_id = ? AND elder_id = ? ORDER BY id DESC`);
  const current = db.prepare<[string], DecisionRow>(
    `SELECT ${decisionCols} FROM elder_decisions d WHERE centre_id = ?
       AND id = (SELECT max(id) FROM elder_decisions x WHERE x.centre_id = d.centre_id AND x.elder_id = d.elder_id)
     ORDER BY elder_id`,
  );
  // The newest decision per elder, joined to the box's registry entry.
  const effectiveFrom = `FROM elder_registry r
    LEFT JOIN elder_decisions d ON d.id = (SELECT max(id) FROM elder_decisions x WHERE x.centre_id = r.centre_id AND x.elder_id = r.elder_id)
    WHERE r.centre_id = @centreId AND (@includeRemoved = 1 OR r.removed = 0)
      AND (@status IS NULL OR coalesce(d.status, r.status) = @status)`;
  const effectiveCols = `r.centre_id AS centreId, r.elder_id AS elderId, r.name, r.id_number AS idNumber, r.removed, r.status AS boxStatus, r.category AS boxCategory,
    d.id AS dId, d.status AS dStatus, d.category AS dCategory, d.effective_on AS dEffectiveOn, d.reason AS dReason, d.decided_by AS dDecidedBy, d.decided_at AS dDecidedAt`;
  const effective = db.prepare<{ centreId: string; status: string | null; includeRemoved: number; limit: number; offset: number }, EffectiveRow>(
    `SELECT ${effectiveCols} ${effectiveFrom} ORDER BY r.elder_id LIMIT @limit OFFSET @offset`,
  );
  const effectiveCount = db.prepare<{ centreId: string; status: string | null; includeRemoved: number }, number>(`SELECT count(*) ${effectiveFrom}`).pluck();
  const effectiveOne = db.prepare<{ centreId: string; elderId: string }, EffectiveRow>(
    `SELECT ${effectiveCols} FROM elder_registry r
     LEFT JOIN elder_decisions d ON d.id = (SELECT max(id) FROM elder_decisions x WHERE x.centre_id = r.centre_id AND x.elder_id = r.elder_id)
     WHERE r.centre_id = @centreId AND r.elder_id = @elderId`,
  );
  const centres = db.prepare<[], string>('SELECT DISTINCT centre_id FROM elder_decisions ORDER BY centre_id').pluck();
  const stamp = db.prepare<[], number>('SELECT coalesce(max(id), 0) FROM elder_decisions').pluck();

  return {
    add(d, at) {
      const r = insert.run({ ...d, decidedAt: at.toISOString() });
      return byId.get(r.lastInsertRowid)!;
    },
    history: (centreId, elderId) => history.all(centreId, elderId),
    current: (centreId) => current.all(centreId),
    effective(q) {
      const args = { centreId: q.centreId, status: q.status ?? null, includeRemoved: q.includeRemoved ? 1 : 0 };
      return { elders: effective.all({ ...args, limit: q.limit, offset: q.offset }).map((r) => toEffective(r, key.reveal)), total: effectiveCount.get(args) ?? 0 };
    },
    effectiveOne(centreId, elderId) {
      const r = effectiveOne.get({ centreId, elderId });
      return r && toEffective(r, key.reveal);
    },
    centres: () => centres.all(),
    stamp: () => stamp.get() ?? 0,
  };
}
