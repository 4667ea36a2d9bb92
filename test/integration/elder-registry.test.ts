/**
 * The elder registry on the box (edge/src/elders/registry-service.ts) on a real database: every
 * change and consent is one transaction with its `elder` record in the outbox (exactly one, the
 * next revision, no face data), the door's gallery follows the status, and removal and a
 * withdrawn consent delete the templates at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEventBatch, type ElderRecord } from '../../common/contract.ts';
import { idNumberProblem, maskIdNumber, normaliseIdNumber } from '../../common/id-card.ts';
import { generateKeyPairSync } from 'node:crypto';
import { openIdNumber, publicKeyInfo, type IdNumberPublicKey } from '../../common/id-number-seal.ts';
import type { Db } from '../../common/sqlite.ts';
import { ElderExistsError } from '../../edge/src/elders/elder-repository.ts';
import { ElderInputError, ElderNotFoundError, type AuditAppender } from '../../edge/src/elders/registry-service.ts';
import { zhCN } from '../../edge/src/web/i18n/zh-CN.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { FACE_API_MODEL } from '../../edge/src/recognition/matcher.ts';
import { testRegistry, type TestRegistry } from '../helpers/elder-registry.ts';
import { edgeTempDir, openEdgeDb } from '../helpers/edge-fixtures.ts';
import { syntheticDescriptor } from '../helpers/fake-engine.ts';

const ID_A = '11010519491231002X';
const ID_B = '440300194001011235';

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let t: TestRegistry;
let audit: Array<{ action: string; subject?: string | null; staffId: string | null; details?: Record<string, unknown> }>;

/** The outbox's elder records, oldest first, each checked against the wire contract. */
function records(): ElderRecord[] {
  const rows = createOutboxRepository(db).takeOldest(1000);
  if (rows.length === 0) return [];
  const parsed = parseEventBatch(JSON.stringify({ v: 1, events: rows.map((r) => r.event) }));
  if (!parsed.ok) throw new Error(parsed.error);
  return rows.map((r) => r.event as ElderRecord);
}

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  audit = [];
  const appender: AuditAppender = { append: (e) => void audit.push(e) };
  t = testRegistry(db, { audit: appender });
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('ID-card numbers (GB 11643)', () => {
  it.each([
    { id: ID_A, problem: undefined },
    { id: ID_B, problem: undefined },
    { id: '110105194912310021', problem: /should be X, not 1: a digit is mistyped/ },
    { id: '11010519491331002X', problem: /19491331 is not a real date/ },
    { id: '1101051949123100', problem: /18 characters, got 16/ },
    { id: '01010519491231002X', problem: /17 digits and a last digit or X/ },
    { id: '110105209912310025', problem: /not a real date/ },
  ])('$id', ({ id, problem }) => {
    const p = idNumberProblem(id, new Date('2025-03-10T00:00:00Z'));
    if (problem) expect(p).toMatch(problem);
    else expect(p).toBeUndefined();
  });

  it('normalises spaces and a lower-case x, and masks all but the last 4', () => {
    expect(normaliseIdNumber(' 110105 19491231 002x ')).toBe(ID_A);
    expect(maskIdNumber(ID_A)).toBe('**************002X');
  });
});

describe('elder registry', () => {
  it('registers an elder with consent: two records, revisions 1 and 2, in the outbox, no face data', () => {
    const d = t.registry.create({ elderId: 'E001', name: ' 王秀英 ', idNumber: '110105 19491231 002x', phone: '138 0013 8000', category: '特困' }, 'S01', { signedBy: 'guardian', guardianName: '王小明' });
    expect(d).toMatchObject({ elderId: 'E001', name: '王秀英', idNumber: ID_A, phone: '138 0013 8000', category: '特困', status: 'active', revision: 2 });
    expect(d.consent).toMatchObject({ textVersion: '2025-01', signedOn: '2025-03-10', signedBy: 'guardian', guardianName: '王小明', staffId: 'S01' });
    const rs = records();
    expect(rs.map((r) => [r.elderId, r.revision, r.change, r.removed])).toEqual([
      ['E001', 1, 'created', false],
      ['E001', 2, 'consent', false],
    ]);
    expect(rs[0]).toMatchObject({ type: 'elder', centreId: 'c1', deviceId: 'd1', name: '王秀英', status: 'active', staffId: 'S01' });
    // No key from the server yet (its config document brings one): the number stays on the box.
    expect(rs[0]!.idNumberSealed).toBeUndefined();
    expect(JSON.stringify(rs)).not.toContain(ID_A);
    expect(rs[0]!.consent).toBeUndefined();
    expect(rs[1]!.consent).toEqual({ textVersion: '2025-01', signedOn: '2025-03-10', signedBy: 'guardian', guardianName: '王小明', staffId: 'S01' });
    expect(new Set(rs.map((r) => r.eventId)).size).toBe(2);
    for (const r of rs) expect(JSON.stringify(r)).not.toMatch(/descriptor|template|image|photo|crop/i);
    expect(audit.map((a) => [a.action, a.details?.change])).toEqual([
      ['elder-change', 'created'],
      ['consent', undefined],
    ]);
    // The ID number itself stays out of the audit log.
    expect(JSON.stringify(audit)).not.toContain(ID_A);
  });

  it('gives the next E0001-style id when none is given, counting removed ones', () => {
    expect(t.registry.create({ name: 'A' }, 'S01').elderId).toBe('E0001');
    t.registry.create({ elderId: 'E0041', name: 'B' }, 'S01');
    t.registry.remove('E0041', 'S01');
    expect(t.registry.create({ name: 'C' }, 'S01').elderId).toBe('E0042');
  });

  it('refuses bad input with every problem named, and writes nothing', () => {
    let err: unknown;
    try {
      t.registry.create({ elderId: 'bad id', name: ' ', idNumber: '110105194912310021', phone: 'call me', category: '富豪' }, 'S01', { signedBy: 'guardian', signedOn: '2099-01-01', textVersion: 'v9' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ElderInputError);
    const problems = (err as ElderInputError).problems;
    expect(problems).toEqual([
      expect.stringMatching(/^elderId: "bad id" is not valid/),
      expect.stringMatching(/^name: the elder needs a name/),
      expect.stringMatching(/^idNumber: the last character .* should be X, not 1/),
      expect.stringMatching(/^phone: "call me" is not a phone number/),
      expect.stringMatching(/^category: "富豪" is not one of the bureau's categories \(特困, 低保, 高龄, 普通\)/),
      expect.stringMatching(/^consent textVersion: no consent text "v9" on this box \(versions: 2025-01\)/),
      expect.stringMatching(/^consent signedOn: 2099-01-01 is in the future/),
      expect.stringMatching(/^consent guardianName: a guardian signed, so give the guardian's name/),
    ]);
    // Each has a code the pages say in their own words (zh-CN and en catalogues).
    const codes = (err as ElderInputError).issues.map((i) => i.code);
    expect(codes).toEqual(['elderId.invalid', 'name.missing', 'idNumber.check', 'phone.invalid', 'category.unknown', 'consent.version', 'consent.future', 'consent.guardianMissing']);
    for (const c of codes) expect(Object.keys(zhCN), c).toContain(`elders.problem.${c}`);
    expect(records()).toEqual([]);
    expect(t.elders.listElders()).toEqual([]);
  });

  it('refuses a second elder with the same id or ID-card number', () => {
    t.registry.create({ elderId: 'E001', name: '王秀英', idNumber: ID_A }, 'S01');
    expect(() => t.registry.create({ elderId: 'E001', name: '李桂兰' }, 'S01')).toThrow(ElderExistsError);
    expect(() => t.registry.create({ elderId: 'E002', name: '李桂兰', idNumber: ID_A }, 'S01')).toThrow(/registered already, as elder E001/);
    t.registry.create({ elderId: 'E002', name: '李桂兰', idNumber: ID_B }, 'S01');
    expect(() => t.registry.update('E002', { idNumber: ID_A }, 'S01')).toThrow(/as elder E001/);
    expect(records().map((r) => r.revision)).toEqual([1, 1]);
  });

  it('edits only what is given, clears with "", and forwards nothing when nothing changed', () => {
    t.registry.create({ elderId: 'E001', name: '王秀英', phone: '13800138000', category: '低保' }, 'S01');
    const d = t.registry.update('E001', { phone: '', category: '高龄' }, 'S02');
    expect(d).toMatchObject({ name: '王秀英', category: '高龄', revision: 2 });
    expect(d.phone).toBeUndefined();
    t.registry.update('E001', { name: '王秀英', category: '高龄' }, 'S02');
    const rs = records();
    expect(rs.map((r) => [r.revision, r.change, r.staffId])).toEqual([
      [1, 'created', 'S01'],
      [2, 'updated', 'S02'],
    ]);
    expect(rs[1]!.phone).toBeUndefined();
    expect(audit[1]).toMatchObject({ action: 'elder-change', subject: 'E001', staffId: 'S02', details: { change: 'updated', fields: 'phone,category' } });
    expect(() => t.registry.update('E404', { name: 'x' }, 'S01')).toThrow(ElderNotFoundError);
  });

  it('a suspended elder leaves the door gallery (and the watcher sees it); reactivated, comes back', () => {
    t.register('E001', '王秀英');
    t.register('E002', '李桂兰');
    t.elders.addTemplate('E001', syntheticDescriptor(1), 'live-1', FACE_API_MODEL);
    t.elders.addTemplate('E002', syntheticDescriptor(2), 'live-1', FACE_API_MODEL);
    const v0 = t.elders.templatesVersion();
    for (const status of ['suspended', 'deceased', 'moved'] as const) {
      t.registry.setStatus('E001', status, 'S01');
      expect(t.elders.loadTemplates('face-api', { activeOnly: true }).elderIds).toEqual(['E002']);
      // The look-alike check still sees everyone.
      expect(t.elders.loadTemplates('face-api').elderIds).toEqual(['E001', 'E002']);
    }
    expect(t.elders.templatesVersion()).not.toBe(v0);
    const v1 = t.elders.templatesVersion();
    t.registry.setStatus('E001', 'active', 'S01');
    expect(t.elders.templatesVersion()).not.toBe(v1);
    expect(t.elders.loadTemplates('face-api', { activeOnly: true }).elderIds).toEqual(['E001', 'E002']);
    expect(records().filter((r) => r.elderId === 'E001').map((r) => [r.revision, r.change, r.status])).toEqual([
      [1, 'created', 'active'],
      [2, 'consent', 'active'],
      [3, 'status', 'suspended'],
      [4, 'status', 'deceased'],
      [5, 'status', 'moved'],
      [6, 'status', 'active'],
    ]);
    // The same status again is no change.
    t.registry.setStatus('E001', 'active', 'S01');
    expect(records()).toHaveLength(8);
  });

  it('removal deletes templates and consents at once, forwards a record without personal data; the revision goes on', () => {
    t.registry.create({ elderId: 'E001', name: '王秀英', idNumber: ID_A }, 'S01', { signedBy: 'elder' });
    t.elders.addTemplate('E001', syntheticDescriptor(1), 'live-1', FACE_API_MODEL);
    t.elders.addTemplate('E001', syntheticDescriptor(2), 'live-2', FACE_API_MODEL);
    expect(t.registry.remove('E001', 'M01')).toEqual({ name: '王秀英', templates: 2 });
    expect(t.elders.countTemplates()).toBe(0);
    expect(db.prepare('SELECT count(*) AS n FROM consents').get()).toEqual({ n: 0 });
    const removal = records()[2]!;
    expect(removal).toMatchObject({ elderId: 'E001', revision: 3, removed: true, change: 'removed', staffId: 'M01' });
    expect(removal.name).toBeUndefined();
    expect(removal.idNumberSealed).toBeUndefined();
    expect(() => t.registry.remove('E001', 'M01')).toThrow(ElderNotFoundError);
    // Registered again under the same id: revision 4, so the server takes it over the removal.
    expect(t.registry.create({ elderId: 'E001', name: '王秀英' }, 'S01').revision).toBe(4);
  });

  it('a failing outbox write rolls the change back: nothing without its record', () => {
    t.register('E001', '王秀英');
    db.exec("CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    expect(() => t.registry.update('E001', { name: '王秀英（新）' }, 'S01')).toThrow(/disk full/);
    expect(() => t.registry.setStatus('E001', 'suspended', 'S01')).toThrow(/disk full/);
    expect(() => t.registry.remove('E001', 'S01')).toThrow(/disk full/);
    expect(t.registry.get('E001')).toMatchObject({ name: '王秀英', status: 'active', revision: 2 });
    // Each change failed before its audit row: the log holds only what happened.
    expect(audit.map((a) => a.action)).toEqual(['elder-change', 'consent']);
  });

  it('consent: recorded on a known text, refused without a guardian name, withdrawn with the templates', () => {
    t.registry.create({ elderId: 'E001', name: '王秀英' }, 'S01');
    expect(t.registry.validConsent('E001')).toBeUndefined();
    expect(() => t.registry.recordConsent('E001', { signedBy: 'guardian' }, 'S01')).toThrow(/give the guardian's name/);
    expect(() => t.registry.recordConsent('E001', { signedBy: 'elder', guardianName: '王小明' }, 'S01')).toThrow(/only when a guardian signed/);
    expect(() => t.registry.recordConsent('E001', { signedBy: 'elder', signedOn: '2025-02-30' }, 'S01')).toThrow(/not a date/);
    const d = t.registry.recordConsent('E001', { signedBy: 'elder', signedOn: '2025-03-01' }, 'S02');
    expect(d.consent).toMatchObject({ textVersion: '2025-01', signedOn: '2025-03-01', signedBy: 'elder', staffId: 'S02' });
    expect(t.registry.validConsent('E001')).toMatchObject({ textVersion: '2025-01' });
    t.elders.addTemplate('E001', syntheticDescriptor(1), 'live-1', FACE_API_MODEL);
    expect(t.registry.withdrawConsent('E001', 'S02')).toEqual({ templates: 1 });
    expect(t.elders.countTemplates('E001')).toBe(0);
    expect(t.registry.validConsent('E001')).toBeUndefined();
    const last = records().at(-1)!;
    expect(last).toMatchObject({ change: 'consent-withdrawn', revision: 3 });
    expect(last.consent).toBeUndefined();
    // A consent on a text this box no longer has is not valid for enrolment.
    db.prepare("UPDATE consents SET withdrawn_at = NULL, text_version = '2019-01'").run();
    expect(t.registry.get('E001')?.consent?.textVersion).toBe('2019-01');
    expect(t.registry.validConsent('E001')).toBeUndefined();
  });

  it('searches by name, id prefix and ID-card tail, filters by status, pages with a total', () => {
    t.registry.create({ elderId: 'E001', name: '王秀英', idNumber: ID_A }, 'S01');
    t.registry.create({ elderId: 'E002', name: '李桂兰', idNumber: ID_B }, 'S01');
    t.registry.create({ elderId: 'E003', name: '王建国' }, 'S01');
    t.registry.setStatus('E003', 'suspended', 'S01');
    const ids = (q: Parameters<typeof t.registry.search>[0]) => t.registry.search(q).elders.map((e) => e.elderId);
    expect(ids({ query: '王', limit: 10, offset: 0 })).toEqual(['E001', 'E003']);
    expect(ids({ query: '002x', limit: 10, offset: 0 })).toEqual(['E001']);
    expect(ids({ query: '1235', limit: 10, offset: 0 })).toEqual(['E002']);
    expect(ids({ query: 'e00', limit: 10, offset: 0 })).toEqual(['E001', 'E002', 'E003']);
    expect(ids({ query: '%', limit: 10, offset: 0 })).toEqual([]);
    expect(ids({ status: 'suspended', limit: 10, offset: 0 })).toEqual(['E003']);
    expect(t.registry.search({ limit: 2, offset: 2 })).toMatchObject({ total: 3, elders: [{ elderId: 'E003' }] });
  });
});

describe('ID numbers leave the box sealed to the server\'s key', () => {
  const server = generateKeyPairSync('x25519');
  const key = publicKeyInfo(server.publicKey);
  let held: IdNumberPublicKey | undefined;
  beforeEach(() => {
    held = undefined;
    t = testRegistry(db, { idNumberKey: () => held });
  });

  it('without a key the record goes without the number; with one, sealed, and only the server opens it', () => {
    t.registry.create({ elderId: 'E001', name: '王秀英', idNumber: ID_A }, 'S01', { signedBy: 'elder' });
    held = key;
    t.registry.create({ elderId: 'E002', name: '李桂兰', idNumber: ID_B }, 'S01', { signedBy: 'elder' });
    const a = records().filter((r) => r.elderId === 'E001');
    const b = records().filter((r) => r.elderId === 'E002').at(-1);
    expect(a.map((r) => r.idNumberSealed)).toEqual([undefined, undefined]);
    expect(JSON.stringify(records())).not.toContain(ID_A);
    expect(JSON.stringify(records())).not.toContain(ID_B);
    expect(openIdNumber(server.privateKey, key.keyId, b!.idNumberSealed!)).toBe(ID_B);
    // The box itself keeps the number (staff need it), in its own database only.
    expect(t.elders.details('E001')!.idNumber).toBe(ID_A);
  });

  it('when the key arrives, every elder whose number has not gone sealed to it is forwarded again (change sealed), once', () => {
    t.registry.create({ elderId: 'E001', name: '王秀英', idNumber: ID_A }, 'S01', { signedBy: 'elder' });
    t.registry.create({ elderId: 'E002', name: '李桂兰' }, 'S01', { signedBy: 'elder' });
    held = key;
    expect(t.registry.resealIdNumbers(key)).toBe(1);
    expect(t.registry.resealIdNumbers(key)).toBe(0);
    const last = records().at(-1)!;
    expect(last).toMatchObject({ elderId: 'E001', change: 'sealed', revision: 3, name: '王秀英' });
    expect(openIdNumber(server.privateKey, key.keyId, last.idNumberSealed!)).toBe(ID_A);
    // A new server key (its file was lost) seals them again.
    const next = publicKeyInfo(generateKeyPairSync('x25519').publicKey);
    held = next;
    expect(t.registry.resealIdNumbers(next)).toBe(1);
  });

  it('a key the box cannot use is not used: the change goes through without the number', () => {
    held = { keyId: key.keyId, publicKey: publicKeyInfo(generateKeyPairSync('ed25519').publicKey).publicKey };
    t.registry.create({ elderId: 'E001', name: '王秀英', idNumber: ID_A }, 'S01', { signedBy: 'elder' });
    expect(records()[0]!.idNumberSealed).toBeUndefined();
    expect(JSON.stringify(records())).not.toContain(ID_A);
  });
});
