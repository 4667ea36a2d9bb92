/**
 * The elder registry on the box (issue 12, item 2): staff add, edit, suspend, reactivate and
 * remove elders and record their consent. Each change is ONE SQLite transaction holding the
 * change, the elder's next revision, its `elder` record in the outbox (common/records.ts: the
 * registry fields, never face data) and, when an audit log is wired, its audit row. So the
 * server learns every change exactly once (eventId), and in order (revision), or nothing
 * happened at all.
 *
 * Face templates are not this module's: enrolment (enrolment.ts) makes them, and refuses any
 * elder without a valid consent from here (`validConsent`). Removal and a withdrawn consent
 * delete them at once; a status other than `active` takes the elder out of the door's gallery
 * (the template watcher reloads it within a second, edge/src/main.ts).
 */
import type { Clock, Ids } from '../../../common/clock.ts';
import { isValidId } from '../../../common/contract.ts';
import { idNumberIssue, normaliseIdNumber } from '../../../common/id-card.ts';
import { sealIdNumber, SealError, type IdNumberPublicKey } from '../../../common/id-number-seal.ts';
import { serviceDateOf } from '../../../common/meal-windows.ts';
import { ELDER_STATUSES, type ConsentSigner, type ElderChange, type ElderRecord, type ElderStatus } from '../../../common/records.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { OutboxRepository } from '../sync/outbox-repository.ts';
import type { ConsentTexts } from './consent-texts.ts';
import { ElderExistsError, type Consent, type ElderDetails, type ElderFields, type ElderRepository, type ElderSearch } from './elder-repository.ts';

export { ElderExistsError };

/** The bureau's default elder categories (--elder-categories). */
export const DEFAULT_ELDER_CATEGORIES = ['特困', '低保', '高龄', '普通'] as const;

/**
 * Where a change's audit row goes (edge/src/audit/audit-log.ts `AuditLog.append`), inside the
 * change's transaction. A port, so this module does not depend on the log's storage.
 */
export interface AuditAppender {
  append(entry: { staffId: string | null; action: string; subject?: string | null; details?: Record<string, string | number | boolean | null> }): unknown;
}

/** What staff type to register or edit an elder; every field is checked. */
export interface ElderInput {
  /** Omitted on create: the next free `E0001`-style id. */
  elderId?: string;
  name?: string;
  /** '' clears an optional field on edit. */
  idNumber?: string;
  phone?: string;
  category?: string;
}

export interface ConsentInput {
  /** Default: the current text (ConsentTexts.current()). */
  textVersion?: string;
  /** YYYY-MM-DD; default today at the centre. Not in the future. */
  signedOn?: string;
  signedBy: ConsentSigner;
  /** Required when a guardian signed, refused otherwise. */
  guardianName?: string;
}

/**
 * One problem with what staff typed: `code` (`field.what`) and `params` let a page say it in its
 * own language (i18n `elders.problem.<code>`); `message` says it in English for the API and logs.
 */
export interface ElderProblem {
  code: string;
  message: string;
  params?: Record<string, string | number>;
}

const problem = (code: string, message: string, params?: Record<string, string | number>): ElderProblem => (params ? { code, message, params } : { code, message });

/** Bad input: every problem, in words staff can act on (HTTP 400). */
export class ElderInputError extends Error {
  /** The messages, `field: what is wrong`. */
  readonly problems: string[];
  constructor(readonly issues: ElderProblem[]) {
    super(issues.map((i) => i.message).join('; '));
    this.name = 'ElderInputError';
    this.problems = issues.map((i) => i.message);
  }
}

/** No elder with this id on the box (HTTP 404). */
export class ElderNotFoundError extends Error {
  constructor(readonly elderId: string) {
    super(`no elder ${elderId} on this box`);
    this.name = 'ElderNotFoundError';
  }
}

export interface ElderRegistryDeps {
  db: Db;
  elders: ElderRepository;
  outbox: Pick<OutboxRepository, 'enqueue'>;
  ids: Ids;
  /** The box's trusted clock: record times and the default consent date. */
  clock: Clock;
  centreId: string;
  deviceId: string;
  timeZone: string;
  categories: readonly string[];
  consentTexts: ConsentTexts;
  /** The staff audit log; each change appends its row in the change's transaction. */
  audit?: AuditAppender;
  /** Told after each committed change (the forwarder's notify). */
  onChange?: () => void;
  /**
   * The review queue's crops (review/review-repository.ts): a removal or a withdrawn consent drops
   * every crop that may show the elder, like their templates.
   */
  crops?: { dropCropsOf(elderId: string): number };
  /**
   * The server's ID-number key from the newest config document (bureau/config-service.ts):
   * records carry the ID number sealed to it; without one, they go without the number.
   */
  idNumberKey?: () => IdNumberPublicKey | undefined;
}

export interface ElderRegistry {
  create(input: ElderInput, staffId: string, consent?: ConsentInput): ElderDetails;
  /** Changes the fields given; the rest stay. */
  update(elderId: string, input: Omit<ElderInput, 'elderId'>, staffId: string): ElderDetails;
  /**
   * Suspend, reactivate (`active`), or mark deceased / moved away. Refused (ElderInputError
   * `status.bureau`) against the bureau's decision on the elder: the bureau's word wins.
   */
  setStatus(elderId: string, status: ElderStatus, staffId: string): ElderDetails;
  /**
   * Applies the bureau's status from the centre's config document (bureau/config-service.ts), in
   * the caller's transaction: the box's status follows, forwarded and audited like a staff change
   * (no staff id: the bureau decided). False when the elder is not on this box or already has it.
   */
  applyBureauStatus(elderId: string, status: ElderStatus, since: string, version: number): boolean;
  /**
   * Forwards again (change `sealed`) every elder whose ID number has not gone to the server
   * sealed to `key`: the first key a box receives, or a new one. Run in the caller's
   * transaction; returns how many.
   */
  resealIdNumbers(key: IdNumberPublicKey): number;
  /** Deletes the elder, their face templates and consents; their meals stay (subsidy history). */
  remove(elderId: string, staffId: string): { name: string; templates: number };
  recordConsent(elderId: string, consent: ConsentInput, staffId: string): ElderDetails;
  /** Marks the consent in force withdrawn and deletes the face templates at once. */
  withdrawConsent(elderId: string, staffId: string): { templates: number };
  /**
   * The consent enrolment may rely on: the one in force, on a consent text this box still has.
   * Undefined when there is none (enrolment is then refused).
   */
  validConsent(elderId: string): Consent | undefined;
  get(elderId: string): ElderDetails | undefined;
  search(q: ElderSearch): { elders: ElderDetails[]; total: number };
  readonly categories: readonly string[];
  readonly consentTexts: ConsentTexts;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const PHONE_RE = /^\+?[0-9][0-9 -]{2,30}$/;
// Control characters (and the like) have no place in a name or on a printed list.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function isRealDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/**
 * The consent enrolment may rely on: the one in force, signed on a consent text this box still
 * has (so what was signed can be shown). Undefined when there is none.
 */
export function validConsent(elders: Pick<ElderRepository, 'details'>, texts: ConsentTexts, elderId: string): Consent | undefined {
  const c = elders.details(elderId)?.consent;
  return c && texts.get(c.textVersion) ? c : undefined;
}

export function createElderRegistry(deps: ElderRegistryDeps): ElderRegistry {
  const { db, elders, outbox, ids, clock, centreId, deviceId, consentTexts } = deps;
  const categories = [...deps.categories];

  /** Checks the registry fields, merged over `base` (edit) or alone (create). */
  function checkFields(input: Omit<ElderInput, 'elderId'>, base: ElderFields | undefined, problems: ElderProblem[]): ElderFields {
    const out: ElderFields = { name: base?.name ?? '' };
    if (base?.idNumber !== undefined) out.idNumber = base.idNumber;
    if (base?.phone !== undefined) out.phone = base.phone;
    if (base?.category !== undefined) out.category = base.category;
    if (input.name !== undefined || !base) {
      const name = (input.name ?? '').trim();
      if (name === '') problems.push(problem('name.missing', 'name: the elder needs a name'));
      else if (name.length > 100) problems.push(problem('name.tooLong', 'name: at most 100 characters'));
      else if (CONTROL_RE.test(name)) problems.push(problem('name.control', 'name: no control characters'));
      else out.name = name;
    }
    if (input.idNumber !== undefined) {
      const id = normaliseIdNumber(input.idNumber);
      if (id === '') delete out.idNumber;
      else {
        const p = idNumberIssue(id, clock.now());
        if (p) problems.push(problem(`idNumber.${p.code}`, `idNumber: ${p.message}`, p.params));
        else out.idNumber = id;
      }
    }
    if (input.phone !== undefined) {
      const phone = input.phone.trim();
      if (phone === '') delete out.phone;
      else if (!PHONE_RE.test(phone)) problems.push(problem('phone.invalid', `phone: "${phone.slice(0, 40)}" is not a phone number (digits, spaces or -, e.g. 138 0013 8000 or 0571-8765 4321)`, { value: phone.slice(0, 40) }));
      else out.phone = phone;
    }
    if (input.category !== undefined) {
      const c = input.category.trim();
      if (c === '') delete out.category;
      else if (!categories.includes(c)) problems.push(problem('category.unknown', `category: "${c.slice(0, 40)}" is not one of the bureau's categories (${categories.join(', ')})`, { value: c.slice(0, 40), categories: categories.join('、') }));
      else out.category = c;
    }
    return out;
  }

  function checkConsent(input: ConsentInput, staffId: string, problems: ElderProblem[]): Consent | undefined {
    const before = problems.length;
    const textVersion = input.textVersion ?? consentTexts.current();
    if (!consentTexts.get(textVersion)) problems.push(problem('consent.version', `consent textVersion: no consent text "${textVersion.slice(0, 64)}" on this box (versions: ${consentTexts.versions().join(', ')})`, { value: textVersion.slice(0, 64) }));
    const today = serviceDateOf(clock.now(), deps.timeZone);
    const signedOn = input.signedOn ?? today;
    if (!isRealDate(signedOn)) problems.push(problem('consent.date', `consent signedOn: "${signedOn.slice(0, 20)}" is not a date (YYYY-MM-DD)`, { value: signedOn.slice(0, 20) }));
    else if (signedOn > today) problems.push(problem('consent.future', `consent signedOn: ${signedOn} is in the future (today is ${today})`, { value: signedOn, today }));
    if (input.signedBy !== 'elder' && input.signedBy !== 'guardian') problems.push(problem('consent.signer', 'consent signedBy: "elder" or "guardian"'));
    const guardian = input.guardianName?.trim();
    if (input.signedBy === 'guardian' && !guardian) problems.push(problem('consent.guardianMissing', "consent guardianName: a guardian signed, so give the guardian's name"));
    if (input.signedBy === 'elder' && guardian) problems.push(problem('consent.guardianUnexpected', 'consent guardianName: only when a guardian signed (signedBy "guardian")'));
    if (guardian && (guardian.length > 100 || CONTROL_RE.test(guardian))) problems.push(problem('consent.guardianInvalid', 'consent guardianName: at most 100 characters, no control characters'));
    if (problems.length > before) return undefined;
    const c: Consent = { textVersion, signedOn, signedBy: input.signedBy, staffId, recordedAt: clock.now().toISOString() };
    if (guardian) c.guardianName = guardian;
    return c;
  }

  // Routes pass the logged-in staff id; the CLI what the operator typed.
  const checkStaff = (staffId: string, problems: ElderProblem[]): void => {
    if (!isValidId(staffId)) problems.push(problem('staff.invalid', `staff id "${staffId.slice(0, 64)}" is not valid (letters, digits, "_", "." or "-")`));
  };

  const staffOk = (staffId: string): void => {
    const problems: ElderProblem[] = [];
    checkStaff(staffId, problems);
    if (problems.length) throw new ElderInputError(problems);
  };

  /** The next `E0001`-style id not yet used on the box (removed ones included: revisions go on). */
  const maxNumbered = db.prepare<[], number | null>(
    "SELECT max(CAST(substr(elder_id, 2) AS INTEGER)) FROM (SELECT elder_id FROM elders UNION SELECT elder_id FROM elder_revisions) WHERE elder_id GLOB 'E[0-9]*' AND substr(elder_id, 2) NOT GLOB '*[^0-9]*'",
  ).pluck();
  const nextElderId = (): string => `E${String((maxNumbered.get() ?? 0) + 1).padStart(4, '0')}`;

  /** Enqueues the elder's record at its next revision: a full snapshot, so the newest wins. */
  function forward(elderId: string, change: ElderChange, staffId: string | undefined, d: ElderDetails | undefined): number {
    const revision = elders.nextRevision(elderId);
    const at = clock.now().toISOString();
    const record: ElderRecord = { type: 'elder', eventId: ids.next(), centreId, deviceId, at, elderId, revision, removed: d === undefined, change, ...(staffId !== undefined ? { staffId } : {}) };
    if (d) {
      record.name = d.name;
      record.status = d.status;
      if (d.idNumber !== undefined) {
        const key = deps.idNumberKey?.();
        let sealedTo: string | null = null;
        if (key) {
          try {
            record.idNumberSealed = sealIdNumber(key, d.idNumber);
            sealedTo = key.keyId;
          } catch (err) {
            // A key the box cannot use goes unused: the record goes without the number.
            if (!(err instanceof SealError)) throw err;
          }
        }
        elders.markIdNumberSealed(elderId, sealedTo);
      }
      if (d.phone !== undefined) record.phone = d.phone;
      if (d.category !== undefined) record.category = d.category;
      if (d.consent) {
        record.consent = { textVersion: d.consent.textVersion, signedOn: d.consent.signedOn, signedBy: d.consent.signedBy, staffId: d.consent.staffId };
        if (d.consent.guardianName !== undefined) record.consent.guardianName = d.consent.guardianName;
      }
    }
    outbox.enqueue(record, at);
    return revision;
  }

  /** Runs one change, its record and its audit row in one transaction (IMMEDIATE: two writers serialise). */
  function change<T>(fn: () => T): T {
    const r = db.transaction(fn).immediate();
    deps.onChange?.();
    return r;
  }

  const mustGet = (elderId: string): ElderDetails => {
    const d = elders.details(elderId);
    if (!d) throw new ElderNotFoundError(elderId);
    return d;
  };

  const audit = (staffId: string, action: string, subject: string, details: Record<string, string | number | boolean | null>): void => {
    deps.audit?.append({ staffId, action, subject, details });
  };

  /** Names of the fields that differ, for the audit row (not the values: ID numbers stay out of the log). */
  const changedFields = (a: ElderFields, b: ElderFields): string => (['name', 'idNumber', 'phone', 'category'] as const).filter((k) => a[k] !== b[k]).join(',');

  return {
    categories,
    consentTexts,
    create(input, staffId, consentInput) {
      const problems: ElderProblem[] = [];
      if (input.elderId !== undefined && !isValidId(input.elderId)) problems.push(problem('elderId.invalid', `elderId: "${input.elderId.slice(0, 64)}" is not valid: 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`));
      const fields = checkFields(input, undefined, problems);
      const consent = consentInput ? checkConsent(consentInput, staffId, problems) : undefined;
      checkStaff(staffId, problems);
      if (problems.length) throw new ElderInputError(problems);
      return change(() => {
        const elderId = input.elderId ?? nextElderId();
        const at = clock.now().toISOString();
        elders.insertElder(elderId, fields, at);
        forward(elderId, 'created', staffId, mustGet(elderId));
        audit(staffId, 'elder-change', elderId, { change: 'created', fields: changedFields({ name: '' }, fields), category: fields.category ?? null });
        if (consent) {
          elders.addConsent(elderId, consent);
          forward(elderId, 'consent', staffId, mustGet(elderId));
          audit(staffId, 'consent', elderId, { textVersion: consent.textVersion, signedOn: consent.signedOn, signedBy: consent.signedBy, guardianName: consent.guardianName ?? null });
        }
        return mustGet(elderId);
      });
    },
    update(elderId, input, staffId) {
      staffOk(staffId);
      return change(() => {
        const before = mustGet(elderId);
        const problems: ElderProblem[] = [];
        const fields = checkFields(input, before, problems);
        if (problems.length) throw new ElderInputError(problems);
        const fieldsChanged = changedFields(before, fields);
        // Nothing changed: no revision, no record, no audit row.
        if (fieldsChanged === '') return before;
        elders.updateElder(elderId, fields, clock.now().toISOString());
        forward(elderId, 'updated', staffId, mustGet(elderId));
        audit(staffId, 'elder-change', elderId, { change: 'updated', fields: fieldsChanged, ...(input.category !== undefined ? { category: fields.category ?? null } : {}) });
        return mustGet(elderId);
      });
    },
    setStatus(elderId, status, staffId) {
      staffOk(staffId);
      if (!(ELDER_STATUSES as readonly string[]).includes(status)) throw new ElderInputError([problem('status.invalid', `status: one of ${ELDER_STATUSES.join(', ')}`)]);
      return change(() => {
        const before = mustGet(elderId);
        if (before.status === status) return before;
        if (before.bureau && before.bureau.status !== status) {
          throw new ElderInputError([problem('status.bureau', `status: the bureau set ${elderId} ${before.bureau.status} from ${before.bureau.since}; only the bureau can change it`, { status: before.bureau.status, since: before.bureau.since })]);
        }
        elders.setStatus(elderId, status, clock.now().toISOString());
        forward(elderId, 'status', staffId, mustGet(elderId));
        audit(staffId, 'elder-change', elderId, { change: 'status', from: before.status, to: status });
        return mustGet(elderId);
      });
    },
    remove(elderId, staffId) {
      staffOk(staffId);
      return change(() => {
        const removed = elders.removeElder(elderId);
        if (!removed) throw new ElderNotFoundError(elderId);
        // Review crops are face pictures too: they go with the templates.
        const crops = deps.crops?.dropCropsOf(elderId) ?? 0;
        forward(elderId, 'removed', staffId, undefined);
        audit(staffId, 'elder-change', elderId, { change: 'removed', templates: removed.templates, reviewItemsCleared: crops });
        return removed;
      });
    },
    recordConsent(elderId, consentInput, staffId) {
      const problems: ElderProblem[] = [];
      const consent = checkConsent(consentInput, staffId, problems);
      checkStaff(staffId, problems);
      if (!consent || problems.length) throw new ElderInputError(problems);
      return change(() => {
        mustGet(elderId);
        elders.addConsent(elderId, consent);
        forward(elderId, 'consent', staffId, mustGet(elderId));
        audit(staffId, 'consent', elderId, { textVersion: consent.textVersion, signedOn: consent.signedOn, signedBy: consent.signedBy, guardianName: consent.guardianName ?? null });
        return mustGet(elderId);
      });
    },
    withdrawConsent(elderId, staffId) {
      staffOk(staffId);
      return change(() => {
        const before = mustGet(elderId);
        if (!before.consent) throw new ElderInputError([problem('consent.noneToWithdraw', `elder ${elderId} has no consent in force to withdraw`)]);
        elders.withdrawConsents(elderId, clock.now().toISOString(), staffId);
        // Face data needs consent: it goes with it, at once.
        const templates = elders.deleteTemplates(elderId);
        const crops = deps.crops?.dropCropsOf(elderId) ?? 0;
        forward(elderId, 'consent-withdrawn', staffId, mustGet(elderId));
        audit(staffId, 'consent', elderId, { withdrawn: true, templates, reviewItemsCleared: crops });
        return { templates };
      });
    },
    resealIdNumbers(key) {
      let n = 0;
      for (const elderId of elders.idNumbersToSeal(key.keyId)) {
        const d = elders.details(elderId);
        if (!d) continue;
        forward(elderId, 'sealed', undefined, d);
        n++;
      }
      return n;
    },
    applyBureauStatus(elderId, status, since, version) {
      const before = elders.details(elderId);
      if (!before || before.status === status) return false;
      elders.setStatus(elderId, status, clock.now().toISOString());
      // As a staff change is forwarded, without a staff id: the bureau decided.
      forward(elderId, 'status', undefined, mustGet(elderId));
      deps.audit?.append({ staffId: null, action: 'bureau-status', subject: elderId, details: { from: before.status, to: status, since, configVersion: version } });
      return true;
    },
    validConsent: (elderId) => validConsent(elders, consentTexts, elderId),
    get: (elderId) => elders.details(elderId),
    search: (q) => elders.search(q),
  };
}

