/**
 * What the bureau decides, checked and audited in one place for the routes and the CLI: a
 * decision on an elder, an erasure request. Each is one transaction holding the change and its
 * audit row; the centre's config document follows (`changed`, centre-config.ts).
 */
import { randomUUID } from 'node:crypto';
import { isValidId } from '../../../../common/contract.ts';
import { ELDER_STATUSES, type ElderStatus } from '../../../../common/records.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { ElderRegistryRepository } from '../elders/elder-registry.ts';
import type { BureauAudit } from './bureau-audit.ts';
import type { Decision, DecisionRepository, EffectiveElder } from './decision-repository.ts';
import type { Erasure, ErasureRepository } from './erasure-repository.ts';

/** Bad input, naming every problem (HTTP 400, CLI exit 2). */
export class BureauInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'BureauInputError';
  }
}

/** No such elder in the centre's registry (HTTP 404). */
export class BureauNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BureauNotFoundError';
  }
}

/** The request clashes with what is there (HTTP 409): an erasure of that elder already pending. */
export class BureauConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BureauConflictError';
  }
}

export interface DecisionRequest {
  status: ElderStatus;
  category?: string;
  effectiveOn: string;
  reason: string;
}

export interface BureauService {
  decide(centreId: string, elderId: string, d: DecisionRequest, by: string, at: Date): { decision: Decision; elder: EffectiveElder };
  requestErasure(centreId: string, elderId: string, reason: string, by: string, at: Date): Erasure;
}

export interface BureauServiceDeps {
  db: Db;
  registry: Pick<ElderRegistryRepository, 'get'>;
  decisions: DecisionRepository;
  erasures: ErasureRepository;
  audit: BureauAudit;
  /** The centre's config document should be rebuilt (after the transaction). */
  changed?: (centreId: string) => void;
  ids?: () => string;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function isRealDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

function checkReason(reason: string, problems: string[]): string {
  const r = reason.trim();
  if (r === '') problems.push('reason: say why (1-200 characters)');
  else if (r.length > 200) problems.push('reason: at most 200 characters');
  else if (CONTROL_RE.test(r)) problems.push('reason: no control characters');
  return r;
}

function checkIds(centreId: string, elderId: string, problems: string[]): void {
  if (!isValidId(centreId)) problems.push(`centre "${centreId.slice(0, 64)}" is not an id (letters, digits, _ . -)`);
  if (!isValidId(elderId)) problems.push(`elder "${elderId.slice(0, 64)}" is not an id (letters, digits, _ . -)`);
}

export function createBureauService(deps: BureauServiceDeps): BureauService {
  const { db, registry, decisions, erasures, audit } = deps;
  const newId = deps.ids ?? (() => randomUUID());

  const mustKnow = (centreId: string, elderId: string): void => {
    if (!registry.get(centreId, elderId)) throw new BureauNotFoundError(`no elder ${elderId} in the registry of centre ${centreId} (the boxes report elders when staff register them)`);
  };

  return {
    decide(centreId, elderId, d, by, at) {
      const problems: string[] = [];
      checkIds(centreId, elderId, problems);
      if (!(ELDER_STATUSES as readonly string[]).includes(d.status)) problems.push(`status: one of ${ELDER_STATUSES.join(', ')}`);
      if (!isRealDate(d.effectiveOn)) problems.push(`effectiveOn: "${d.effectiveOn.slice(0, 20)}" is not a date (YYYY-MM-DD)`);
      const category = d.category?.trim();
      if (category !== undefined && (category === '' || category.length > 32 || CONTROL_RE.test(category))) problems.push('category: 1-32 characters, no control characters');
      const reason = checkReason(d.reason, problems);
      if (problems.length) throw new BureauInputError(problems);
      const result = db.transaction(() => {
        mustKnow(centreId, elderId);
        const before = decisions.effectiveOne(centreId, elderId);
        const decision = decisions.add({ centreId, elderId, status: d.status, category: category ?? null, effectiveOn: d.effectiveOn, reason, decidedBy: by }, at);
        audit.append({
          at,
          userId: by,
          action: 'elder-decision',
          subject: `${centreId}/${elderId}`,
          details: { status: d.status, from: before?.status ?? null, category: category ?? null, effectiveOn: d.effectiveOn, reason, decisionId: decision.id },
        });
        return { decision, elder: decisions.effectiveOne(centreId, elderId)! };
      }).immediate();
      deps.changed?.(centreId);
      return result;
    },
    requestErasure(centreId, elderId, reason, by, at) {
      const problems: string[] = [];
      checkIds(centreId, elderId, problems);
      const why = checkReason(reason, problems);
      if (problems.length) throw new BureauInputError(problems);
      const erasure = db.transaction(() => {
        mustKnow(centreId, elderId);
        const pending = erasures.pendingFor(centreId, elderId);
        if (pending) throw new BureauConflictError(`an erasure of elder ${elderId} at centre ${centreId} is pending already (${pending.erasureId}, requested ${pending.requestedAt})`);
        const e = erasures.insert({ erasureId: newId(), centreId, elderId, reason: why, requestedBy: by, requestedAt: at.toISOString() });
        audit.append({ at, userId: by, action: 'erasure-request', subject: e.erasureId, details: { centreId, elderId, reason: why, devices: erasures.devicesOf(centreId).length } });
        return e;
      }).immediate();
      deps.changed?.(centreId);
      return erasure;
    },
  };
}
