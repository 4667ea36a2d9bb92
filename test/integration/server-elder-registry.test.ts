/**
 * The server's elder registry (server/src/modules/elders/): `elder` records arriving through the
 * real MQTT ingest's message handling are stored once (known on a re-send, a conflict kept apart
 * when the same eventId carries other content), a late older revision never overwrites a newer
 * one, records with face data are refused, and GET /api/v1/elders lists them, ID numbers masked.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics, type BatchEvent, type ElderRecord } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../server/src/app.ts';
import { createElderRegistryRepository, type ElderRegistryRepository } from '../../server/src/modules/elders/elder-registry.ts';
import { ID_NUMBER_KEY_FILE, idNumberKeyOf, loadOrCreateIdNumberKey, sealClearIdNumbers } from '../../server/src/modules/elders/id-number-key.ts';
import { createDeadLetterRepository } from '../../server/src/modules/meals/dead-letter-repository.ts';
import { createDeviceRepository } from '../../server/src/modules/meals/device-repository.ts';
import { createMealRepository } from '../../server/src/modules/meals/meal-repository.ts';
import { createMqttIngest } from '../../server/src/modules/meals/mqtt-ingest.ts';
import { createRecordIngest, type RecordHandler } from '../../server/src/modules/records/record-ingest.ts';
import { fixtureClock, openServerDb, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

const ID_A = '11010519491231002X';
const topic = topics.events('c1', 'd1');
let n = 0;

function elderRecord(overrides: Partial<ElderRecord> = {}): ElderRecord {
  n++;
  return {
    type: 'elder',
    eventId: `01900000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`,
    centreId: 'c1',
    deviceId: 'd1',
    at: '2025-03-10T02:00:00.000Z',
    elderId: 'E001',
    revision: 1,
    removed: false,
    change: 'created',
    name: '王秀英',
    idNumberSealed: sealed(ID_A),
    phone: '13800138000',
    category: '特困',
    status: 'active',
    staffId: 'S01',
    ...overrides,
  };
}

/** Sealed to this server's key, as a box that has the centre's config document seals it. */
const sealed = (id: string): string => idNumberKeyOf(db).seal(id);
const payload = (events: unknown[]) => Buffer.from(JSON.stringify({ v: 1, events }));

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let registry: ElderRegistryRepository;
let ingest: ReturnType<typeof createMqttIngest>;
const count = (sql: string) => db.prepare(sql).pluck().get() as number;
const send = (...events: BatchEvent[]) => ingest.handle(topic, payload(events));

beforeEach(() => {
  tmp = tempDir();
  db = openServerDb(tmp.dir);
  registry = createElderRegistryRepository(db);
  ingest = createMqttIngest({
    url: 'mqtt://127.0.0.1:1',
    protocolVersion: 4,
    clientId: 'test',
    db,
    meals: createMealRepository(db),
    records: createRecordIngest(db, [registry.handler as RecordHandler]),
    deadLetters: createDeadLetterRepository(db),
    devices: createDeviceRepository(db),
    clock: fixtureClock,
    logger: quietLogger,
  });
});
afterEach(() => {
  db.close();
  tmp.cleanup();
});

describe('server: elder records', () => {
  it('stores a record once: the same eventId again is known, and changes nothing', () => {
    const r = elderRecord();
    expect(send(r)).toMatchObject({ kind: 'ingested', result: { stored: 1, known: 0, receipted: [r.eventId] } });
    expect(registry.get('c1', 'E001')).toMatchObject({ revision: 1, name: '王秀英', idNumber: ID_A, status: 'active', category: '特困', removed: false, change: 'created', staffId: 'S01' });
    expect(send(r)).toMatchObject({ kind: 'ingested', result: { stored: 0, known: 1, receipted: [r.eventId] } });
    expect(count('SELECT count(*) FROM elder_registry')).toBe(1);
  });

  it('keeps the same eventId with other content as a conflict, visible, the first version standing', () => {
    const r = elderRecord();
    send(r);
    const forged = { ...r, name: '李桂兰' };
    expect(send(forged)).toMatchObject({ kind: 'ingested', result: { stored: 0, known: 0, conflicts: [r.eventId], receipted: [r.eventId] } });
    expect(registry.get('c1', 'E001')?.name).toBe('王秀英');
    expect(JSON.parse(db.prepare('SELECT version FROM record_conflicts').pluck().get() as string)).toMatchObject({ eventId: r.eventId, name: '李桂兰' });
  });

  it('an older revision arriving after a newer one does not overwrite it (and is still receipted)', () => {
    const r1 = elderRecord({ revision: 1 });
    const r2 = elderRecord({ revision: 2, change: 'updated', phone: '13900139000' });
    const r3 = elderRecord({ revision: 3, change: 'status', status: 'suspended' });
    send(r3);
    expect(send(r1, r2)).toMatchObject({ kind: 'ingested', result: { stored: 2, receipted: [r1.eventId, r2.eventId] } });
    expect(registry.get('c1', 'E001')).toMatchObject({ revision: 3, status: 'suspended', phone: '13800138000', change: 'status', changedAt: r3.at });
    // Every revision is kept as received, in `records`.
    expect(count("SELECT count(*) FROM records WHERE type = 'elder'")).toBe(3);
  });

  it('a removal keeps the last fields known, flagged removed; a later re-registration takes over', () => {
    send(elderRecord({ revision: 1 }), elderRecord({ revision: 2, change: 'consent', consent: { textVersion: '2025-01', signedOn: '2025-03-10', signedBy: 'guardian', guardianName: '王小明', staffId: 'S01' } }));
    const removal: ElderRecord = { type: 'elder', eventId: elderRecord().eventId, centreId: 'c1', deviceId: 'd1', at: '2025-03-11T02:00:00.000Z', elderId: 'E001', revision: 3, removed: true, change: 'removed', staffId: 'M01' };
    send(removal);
    expect(registry.get('c1', 'E001')).toMatchObject({ revision: 3, removed: true, name: '王秀英', consent: { signedBy: 'guardian', guardianName: '王小明' }, change: 'removed', staffId: 'M01' });
    send(elderRecord({ revision: 4, name: '王秀英', at: '2025-03-12T02:00:00.000Z' }));
    expect(registry.get('c1', 'E001')).toMatchObject({ revision: 4, removed: false, consent: null });
  });

  it('keeps the same elder id of two centres apart', () => {
    send(elderRecord());
    ingest.handle(topics.events('c2', 'd9'), payload([elderRecord({ centreId: 'c2', deviceId: 'd9', name: '张三', idNumberSealed: sealed('440300194001011235') })]));
    expect(registry.list({ limit: 10, offset: 0 }).elders.map((e) => [e.centreId, e.elderId, e.name])).toEqual([
      ['c1', 'E001', '王秀英'],
      ['c2', 'E001', '张三'],
    ]);
  });

  it.each([
    ['a descriptor', { descriptor: [0.1, 0.2, 0.3] }],
    ['a face image', { faceImage: 'data:image/jpeg;base64,/9j/4AAQ' }],
    ['templates', { templates: [{ descriptor: 'AAAA' }] }],
    ['an ID number in clear', { idNumber: ID_A }],
    ['a sealed ID number with a bad shape', { idNumberSealed: 'v1.12345' }],
  ])('refuses a record with %s: dead letter, nothing stored, no receipt', (_what, extra) => {
    const out = ingest.handle(topic, payload([{ ...elderRecord(), ...extra }]));
    expect(out.kind).toBe('dead-letter');
    expect(count('SELECT count(*) FROM records')).toBe(0);
    expect(count('SELECT count(*) FROM elder_registry')).toBe(0);
  });

  it('stores ID numbers sealed, never in clear, in its tables and beside them a key file only it can read', () => {
    send(elderRecord());
    const stored = count('SELECT count(*) FROM elder_registry WHERE id_number IS NOT NULL');
    expect(stored).toBe(1);
    const text = (db.prepare('SELECT id_number FROM elder_registry UNION ALL SELECT payload FROM records').pluck().all() as string[]).join('\n');
    expect(text).not.toContain(ID_A);
    expect(text).toMatch(/v1\.[0-9a-f]{16}\./);
    expect(registry.get('c1', 'E001')!.idNumber).toBe(ID_A);
    expect(statSync(join(tmp.dir, ID_NUMBER_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('a number sealed to another key (the key file was replaced) is stored as unknown; the rest of the record stands', () => {
    const other = loadOrCreateIdNumberKey(join(tmp.dir, 'other-key.pem'));
    expect(other.public.keyId).not.toBe(idNumberKeyOf(db).public.keyId);
    expect(send(elderRecord({ idNumberSealed: other.seal(ID_A) })).kind).not.toBe('dead-letter');
    expect(registry.get('c1', 'E001')).toMatchObject({ name: '王秀英', idNumber: null });
  });

  it('seals, at start, numbers an older server stored in clear', () => {
    send(elderRecord());
    db.prepare('UPDATE elder_registry SET id_number = ?').run(ID_A);
    expect(sealClearIdNumbers(db, idNumberKeyOf(db))).toBe(1);
    expect(sealClearIdNumbers(db, idNumberKeyOf(db))).toBe(0);
    expect(db.prepare('SELECT id_number FROM elder_registry').pluck().get()).not.toContain(ID_A);
    expect(registry.get('c1', 'E001')!.idNumber).toBe(ID_A);
  });

  it('no column of the registry can hold face data', () => {
    const cols = (db.prepare("SELECT name FROM pragma_table_info('elder_registry')").pluck().all() as string[]).join(',');
    expect(cols).not.toMatch(/descriptor|template|image|photo|crop|face/);
  });
});

describe('GET /api/v1/elders', () => {
  let app: FastifyInstance;
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };
  beforeEach(async () => {
    app = await buildApp({ db, logger: quietLogger, adminToken: TEST_TOKEN });
    send(
      elderRecord({ elderId: 'E001' }),
      elderRecord({ elderId: 'E002', name: '李桂兰', idNumberSealed: sealed('440300194001011235'), status: 'suspended' }),
      elderRecord({ elderId: 'E003', name: '王建国', idNumberSealed: undefined }),
    );
    ingest.handle(topics.events('c2', 'd9'), payload([elderRecord({ centreId: 'c2', deviceId: 'd9', elderId: 'E009', name: '张三', idNumberSealed: undefined })]));
  });
  afterEach(async () => {
    await app.close();
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer nope-nope-nope-nope-nope' }],
  ])('401 with %s', async (_what, headers) => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/elders', headers });
    expect(res.statusCode).toBe(401);
    expect(JSON.stringify(res.json())).not.toContain('王秀英');
  });

  it('lists every centre, ID numbers masked by default', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/elders', headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ elders: { elderId: string; idNumber: string | null }[]; total: number }>();
    expect(body).toMatchObject({ total: 4, limit: 100, offset: 0 });
    expect(body.elders.map((e) => [e.elderId, e.idNumber])).toEqual([
      ['E001', '**************002X'],
      ['E002', '**************1235'],
      ['E003', null],
      ['E009', null],
    ]);
    expect(res.body).not.toContain(ID_A);
  });

  it('idNumbers=full shows them; filters by centre and status; pages with a total', async () => {
    const full = await app.inject({ method: 'GET', url: '/api/v1/elders?centreId=c1&idNumbers=full', headers: auth });
    expect(full.json<{ elders: { idNumber: string | null }[] }>().elders[0]!.idNumber).toBe(ID_A);
    const suspended = await app.inject({ method: 'GET', url: '/api/v1/elders?status=suspended', headers: auth });
    expect(suspended.json()).toMatchObject({ total: 1, elders: [{ elderId: 'E002', status: 'suspended' }] });
    const page = await app.inject({ method: 'GET', url: '/api/v1/elders?centreId=c1&limit=2&offset=2', headers: auth });
    expect(page.json()).toMatchObject({ total: 3, limit: 2, offset: 2, elders: [{ elderId: 'E003' }] });
  });

  it('hides removed elders unless asked', async () => {
    send({ type: 'elder', eventId: elderRecord().eventId, centreId: 'c1', deviceId: 'd1', at: '2025-03-11T02:00:00.000Z', elderId: 'E003', revision: 2, removed: true, change: 'removed' });
    expect((await app.inject({ method: 'GET', url: '/api/v1/elders?centreId=c1', headers: auth })).json()).toMatchObject({ total: 2 });
    expect((await app.inject({ method: 'GET', url: '/api/v1/elders?centreId=c1&includeRemoved=true', headers: auth })).json()).toMatchObject({ total: 3 });
  });

  it.each([
    ['status=gone', /status/],
    ['limit=0', /limit/],
    ['limit=501', /limit/],
    ['centreId=a%2Fb', /centreId/],
    ['idNumbers=plain', /idNumbers/],
  ])('400 for %s, naming the parameter', async (qs, message) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/elders?${qs}`, headers: auth });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ message: string }>().message).toMatch(message);
  });
});
