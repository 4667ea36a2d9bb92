/**
 * The review queue on a real migrated SQLite database, fed by the real door pipeline on a fake
 * camera (real JPEG frames, so crops are real): what is kept and with what, assign through the
 * recorder port with reviewedBy, dismiss, anti-spoof holds as review items, the crop dropped on
 * decision and after the retention period, and never in the outbox or the log.
 */
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMealEvent, type MealEvent } from '../../common/contract.ts';
import type { Db } from '../../common/sqlite.ts';
import type { ElderRepository } from '../../edge/src/elders/elder-repository.ts';
import type { CheckInService } from '../../edge/src/meals/check-in-service.ts';
import { cropFace, type ReviewService } from '../../edge/src/review/review-service.ts';
import { createReviewRepository } from '../../edge/src/review/review-repository.ts';
import type { OutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import type { AuditLog } from '../../edge/src/audit/audit-log.ts';
import type { DetectedFace } from '../../edge/src/vision/face-engine.ts';
import { captureLogger, edgeTempDir, openEdgeDb, TestClock, testCheckInService, type LogLine } from '../helpers/edge-fixtures.ts';
import { descriptorAt, FakeEngine, fakeFace, labelledJpeg, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { reviewParts, reviewPipeline } from '../helpers/review-fixtures.ts';
import { TrustedClock } from '../../edge/src/clock/trusted-clock.ts';
import { kioskMessage } from '../../edge/src/meals/kiosk-message.ts';
import type { CheckInEvent, RecognitionPipeline } from '../../edge/src/recognition/pipeline.ts';
import { quietEdgeLogger } from '../helpers/edge-fixtures.ts';

// 12:00 in Shanghai on 2025-03-10: lunch (11:00-13:30).
const LUNCH = '2025-03-10T04:00:00.000Z';
const A = syntheticDescriptor(1);
const B = syntheticDescriptor(2);
const STRANGER = syntheticDescriptor(9);
const STAFF = { staffId: 'S01', role: 'staff' as const };

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let clock: TestClock;
let service: CheckInService;
let elders: ElderRepository;
let outbox: OutboxRepository;
let reviews: ReviewService;
let audit: AuditLog;
let lines: LogLine[];

beforeEach(() => {
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  clock = new TestClock(LUNCH);
  ({ service, elders, outbox } = testCheckInService(db, clock, { antispoofThreshold: 0.5 }));
  elders.upsertElder('E1', '王秀英');
  elders.upsertElder('E2', '李建国');
  const cap = captureLogger('debug');
  lines = cap.lines;
  ({ reviews, audit } = reviewParts(db, clock, service, elders, { logger: cap.logger, retentionMs: 3600_000 }));
});
afterEach(async () => {
  await reviews.stop();
  if (db.open) db.close();
  tmp.cleanup();
});

const at = (base: Float32Array, seed: number, extra: Partial<DetectedFace> = {}): DetectedFace => ({ ...fakeFace({ descriptor: descriptorAt(base, 0.1, seed), box: { x: 110, y: 60, width: 100, height: 100 } }), ...extra });

/** Runs the door over `frames` scenes (each a real JPEG) and waits until every kept face is stored. */
async function door(scenes: Record<string, DetectedFace[]>, frames: string[], templates = [{ elderId: 'E1', descriptor: A }, { elderId: 'E2', descriptor: B }], matcher = {}): Promise<void> {
  const images = await Promise.all(frames.map((f) => labelledJpeg(f)));
  const pipeline = reviewPipeline(new MemoryFrameSource(images, 'door'), new FakeEngine(scenes), templates, service, reviews, { matcher });
  await pipeline.start();
  await pipeline.done();
  await reviews.idle();
}

const crops = (): number => (db.prepare('SELECT count(*) FROM review_items WHERE crop IS NOT NULL').pluck().get() as number);

describe('what the door keeps for review', () => {
  it('keeps a stranger who stayed: time, camera, nearest elders by name, a small JPEG crop', async () => {
    await door({ s: [at(STRANGER, 1)] }, ['s', 's', 's', 's', 's']);
    const items = reviews.list();
    expect(items).toHaveLength(1);
    const item = items[0]!;
    expect(item).toMatchObject({ kind: 'unknown', cameraId: 'door', status: 'pending', hasCrop: true });
    expect(item.at).toBe(new Date(1_700_000_000_000).toISOString());
    expect(item.nearest.length).toBeGreaterThan(0);
    expect(item.nearest[0]!.name).toMatch(/王秀英|李建国/);
    expect(item.nearest[0]!.distance).toBeGreaterThan(0.48);
    const jpeg = reviews.crop(item.id)!;
    const meta = await sharp(jpeg).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(160);
  });

  it('does not keep a face seen once (it did not stay), nor a recognised elder', async () => {
    await door({ s: [at(STRANGER, 1)], wang: [at(A, 2)], none: [] }, ['s', 'none', 'none', 'wang', 'wang']);
    expect(reviews.list()).toEqual([]);
    expect(service.listForDay('2025-03-10').map((c) => c.elderId)).toEqual(['E1']);
  });

  it('keeps a match inside the margin as `margin`, with both elders near it', async () => {
    const near = descriptorAt(A, 0.2, 5);
    await door({ m: [at(A, 3)] }, ['m', 'm', 'm', 'm', 'm'], [{ elderId: 'E1', descriptor: A }, { elderId: 'E2', descriptor: near }], { margin: 0.3 });
    const [item] = reviews.list();
    expect(item).toMatchObject({ kind: 'margin' });
    expect(item!.nearest.map((n) => n.elderId).sort()).toEqual(['E1', 'E2']);
    expect(service.countAll()).toBe(0);
  });

  it('keeps an anti-spoof hold as a review item naming its hold', async () => {
    await door({ p: [at(A, 4, { antispoof: 0.1 })] }, ['p', 'p', 'p']);
    const [item] = reviews.list();
    const [hold] = service.listConfirmations('pending');
    expect(item).toMatchObject({ kind: 'antispoof', confirmationId: hold!.id });
  });
});

describe('staff decide', () => {
  it('assign records a face check-in with reviewedBy, forwarded, audited, once per meal; the crop is gone', async () => {
    await door({ s: [at(STRANGER, 1)] }, ['s', 's', 's', 's', 's']);
    const [item] = reviews.list();
    const r = reviews.assign(STAFF, item!.id, 'E2');
    expect(r).toMatchObject({ status: 'assigned', item: { status: 'assigned', hasCrop: false, elderId: 'E2', decidedBy: 'S01' }, checkIn: { elderId: 'E2', method: 'face', meal: 'lunch', reviewedBy: 'S01', cameraId: 'door' } });
    expect(reviews.crop(item!.id)).toBeUndefined();
    expect(crops()).toBe(0);
    const events = outbox.takeOldest(10).map((o) => o.event as MealEvent);
    expect(events.map((e) => [e.elderId, e.method, e.reviewedBy])).toEqual([['E2', 'face', 'S01']]);
    expect(audit.recent(5).map((a) => [a.action, a.subject, a.staffId])).toContainEqual(['review-assign', item!.id, 'S01']);
    expect(reviews.assign(STAFF, item!.id, 'E2').status).toBe('already-decided');
    expect(reviews.list()).toEqual([]);
  });

  it('assign to an elder who already has the meal is refused and changes nothing', async () => {
    expect(service.record({ elderId: 'E2', method: 'manual', staffId: 'S01' }).status).toBe('recorded');
    await door({ s: [at(STRANGER, 1)] }, ['s', 's', 's', 's', 's']);
    const [item] = reviews.list();
    expect(reviews.assign(STAFF, item!.id, 'E2')).toMatchObject({ status: 'refused', result: { status: 'already-checked-in' } });
    expect(reviews.get(item!.id)).toMatchObject({ status: 'pending', hasCrop: true });
    expect(reviews.assign(STAFF, item!.id, 'NOPE')).toMatchObject({ status: 'refused', result: { status: 'unknown-elder' } });
  });

  it('dismiss drops the crop and records nothing; audited', async () => {
    await door({ s: [at(STRANGER, 1)] }, ['s', 's', 's', 's', 's']);
    const [item] = reviews.list();
    expect(reviews.dismiss(STAFF, item!.id)).toMatchObject({ status: 'dismissed', item: { status: 'dismissed', hasCrop: false } });
    expect(crops()).toBe(0);
    expect(outbox.takeOldest(10)).toEqual([]);
    expect(audit.recent(5).map((a) => a.action)).toContain('review-dismiss');
    expect(reviews.dismiss(STAFF, item!.id).status).toBe('already-decided');
  });

  it('assigning an anti-spoof item to its held elder confirms the hold; dismissing one rejects it', async () => {
    await door({ p: [at(A, 4, { antispoof: 0.1 })] }, ['p', 'p', 'p']);
    const [item] = reviews.list();
    const r = reviews.assign(STAFF, item!.id, 'E1');
    expect(r).toMatchObject({ status: 'assigned', checkIn: { elderId: 'E1', method: 'face' } });
    expect(service.getConfirmation(item!.confirmationId!)).toMatchObject({ status: 'confirmed', decidedBy: 'S01' });

    await door({ q: [at(B, 6, { antispoof: 0.1 })] }, ['q', 'q', 'q']);
    const [second] = reviews.list();
    expect(reviews.dismiss(STAFF, second!.id).status).toBe('dismissed');
    expect(service.getConfirmation(second!.confirmationId!)).toMatchObject({ status: 'rejected' });
    expect(service.listForDay('2025-03-10').map((c) => c.elderId)).toEqual(['E1']);
  });

  it('closes an anti-spoof item whose hold was decided elsewhere (the confirmations API, a later check-in), dropping its crop', async () => {
    await door({ p: [at(A, 4, { antispoof: 0.1 })], q: [at(B, 6, { antispoof: 0.1 })] }, ['p', 'p', 'p', 'none']);
    await door({ q: [at(B, 6, { antispoof: 0.1 })] }, ['q', 'q', 'q']);
    const items = reviews.list();
    expect(items.map((i) => i.kind)).toEqual(['antispoof', 'antispoof']);
    const wang = items.find((i) => service.getConfirmation(i.confirmationId!)?.elderId === 'E1')!;
    const li = items.find((i) => i !== wang)!;
    expect(service.confirm(wang.confirmationId!, 'S09').status).toBe('recorded');
    expect(service.record({ elderId: 'E2', method: 'manual', staffId: 'S01' }).status).toBe('recorded');
    expect(reviews.list()).toEqual([]);
    expect(reviews.get(wang.id)).toMatchObject({ status: 'assigned', decidedBy: 'S09', elderId: 'E1', hasCrop: false });
    expect(reviews.get(li.id)).toMatchObject({ status: 'assigned', elderId: 'E2', hasCrop: false });
    expect(crops()).toBe(0);
  });
});

describe('check-ins the clock rules hold (kind clock)', () => {
  // A box that booted at 1970 with no network: its clock is untrusted until the server answers.
  const mono = { ms: 1_000, nowMs(): number { return this.ms; } };
  let trusted: TrustedClock;
  let held: CheckInService;
  let queue: ReviewService;
  let heldOutbox: OutboxRepository;
  let seen: CheckInEvent[];

  beforeEach(() => {
    trusted = new TrustedClock({ system: new TestClock('1970-01-01T00:05:00.000Z'), mono, bootId: '0190f5a2-0000-4000-8000-00000000c001', logger: quietEdgeLogger });
    trusted.start();
    ({ service: held, outbox: heldOutbox } = testCheckInService(db, trusted, { antispoofThreshold: 0.5 }));
    ({ reviews: queue } = reviewParts(db, trusted, held, elders, { retentionMs: 3600_000 }));
    seen = [];
  });
  afterEach(async () => {
    await queue.stop();
    trusted.stop();
  });

  async function untrustedDoor(scenes: Record<string, DetectedFace[]>, frames: string[]): Promise<ReturnType<RecognitionPipeline['counters']>> {
    const images = await Promise.all(frames.map((f) => labelledJpeg(f)));
    const pipeline = reviewPipeline(new MemoryFrameSource(images, 'door'), new FakeEngine(scenes), [{ elderId: 'E1', descriptor: A }, { elderId: 'E2', descriptor: B }], held, queue);
    pipeline.on('check-in', (e) => seen.push(e));
    await pipeline.start();
    await pipeline.done();
    await queue.idle();
    return pipeline.counters();
  }

  it('keeps a suspect face seen while the clock is untrusted: no hold, nothing recorded, the elder asked to wait', async () => {
    // Counted as held for staff (the metrics' `held` outcome), not recorded.
    expect(await untrustedDoor({ p: [at(A, 4, { antispoof: 0.1 })] }, ['p', 'p', 'p'])).toMatchObject({ recognised: 1, recorded: 0, held: 1 });
    expect(seen.map((e) => e.result)).toEqual([{ status: 'not-recorded', reason: expect.stringMatching(/review queue/) as string, review: 'clock' }]);
    expect(kioskMessage(seen[0]!.result)).toEqual({ tone: 'info', text: '请稍候，工作人员确认' });
    const [item] = queue.list();
    expect(item).toMatchObject({ kind: 'clock', cameraId: 'door', status: 'pending', hasCrop: true, at: new Date(1_700_000_000_000).toISOString() });
    expect(item!.confirmationId).toBeUndefined();
    expect(item!.nearest[0]).toMatchObject({ elderId: 'E1', name: '王秀英' });
    expect((await sharp(queue.crop(item!.id)!).metadata()).format).toBe('jpeg');
    expect(held.listConfirmations()).toEqual([]);
    expect(held.countAll()).toBe(0);
    expect(heldOutbox.takeOldest(10)).toEqual([]);
    // A live face meanwhile is recorded as usual (held until the time is known), not kept.
    await untrustedDoor({ w: [at(B, 5, { antispoof: 0.9 })] }, ['w', 'w', 'w']);
    expect(queue.list().map((i) => i.kind)).toEqual(['clock']);
    expect(held.countAll()).toBe(1);
  });

  it('assigned once the time is known: recorded as that meal with reviewedBy; the crop is gone; audited', async () => {
    await untrustedDoor({ p: [at(A, 4, { antispoof: 0.1 })] }, ['p', 'p', 'p']);
    const [item] = queue.list();
    // 12:00 in Shanghai on 2026-11-28 (a server time must be after this release's build).
    mono.ms += 20;
    expect(trusted.addSample({ serverMs: Date.parse('2026-11-28T04:00:00.000Z'), sentMono: mono.ms - 20, receivedMono: mono.ms })).toMatchObject({ used: true });
    const r = queue.assign(STAFF, item!.id, 'E1');
    expect(r).toMatchObject({ status: 'assigned', item: { kind: 'clock', status: 'assigned', hasCrop: false, elderId: 'E1', decidedBy: 'S01' }, checkIn: { elderId: 'E1', method: 'face', serviceDate: '2026-11-28', meal: 'lunch', reviewedBy: 'S01', cameraId: 'door' } });
    const meals = heldOutbox.takeOldest(10).map((o) => o.event).filter(isMealEvent);
    expect(meals.map((e) => [e.elderId, e.method, e.meal, e.reviewedBy, e.clock])).toEqual([['E1', 'face', 'lunch', 'S01', 'server']]);
    expect(audit.recent(5).map((a) => [a.action, a.subject, a.staffId])).toContainEqual(['review-assign', item!.id, 'S01']);
    expect(queue.crop(item!.id)).toBeUndefined();
    expect(queue.assign(STAFF, item!.id, 'E1').status).toBe('already-decided');
  });

  it('dismissed: nothing recorded, the crop is gone', async () => {
    await untrustedDoor({ p: [at(A, 4, { antispoof: 0.1 })] }, ['p', 'p', 'p']);
    const [item] = queue.list();
    expect(queue.dismiss(STAFF, item!.id)).toMatchObject({ status: 'dismissed', item: { kind: 'clock', hasCrop: false } });
    expect(held.countAll()).toBe(0);
    expect(queue.list()).toEqual([]);
  });
});

describe('crops stay on the box, for a while', () => {
  it('drops undecided crops after the retention period, at start and by purge()', async () => {
    await door({ s: [at(STRANGER, 1)] }, ['s', 's', 's', 's', 's']);
    // The frames are dated 2023-11-14; the clock says 2025: older than the hour kept.
    clock.set('2023-11-14T22:30:00.000Z');
    expect(reviews.purge()).toBe(0);
    expect(crops()).toBe(1);
    clock.set('2023-11-14T23:14:00.000Z');
    reviews.start();
    expect(crops()).toBe(0);
    expect(reviews.list()).toEqual([]);
    expect(db.prepare('SELECT status FROM review_items').pluck().all()).toEqual(['expired']);
  });

  it('never puts a crop in the outbox or the log', async () => {
    await door({ s: [at(STRANGER, 1)], t: [at(STRANGER, 7)] }, ['s', 's', 's', 's', 's']);
    const [item] = reviews.list();
    const jpeg = reviews.crop(item!.id)!;
    reviews.assign(STAFF, item!.id, 'E1');
    const b64 = jpeg.toString('base64').slice(20, 80);
    const hex = jpeg.toString('hex').slice(40, 120);
    const everything = JSON.stringify(outbox.takeOldest(100)) + JSON.stringify(lines);
    expect(lines.some((l) => l.msg === 'face kept for staff review')).toBe(true);
    expect(everything).not.toContain(b64);
    expect(everything).not.toContain(hex);
    expect(everything).not.toMatch(/"crop"/);
  });
});

describe('cropFace', () => {
  it('crops raw RGB frames and faces at the edge of the frame, never larger than 160 px', async () => {
    const width = 640;
    const height = 480;
    const rgb = { kind: 'rgb' as const, data: new Uint8Array(width * height * 3).fill(90), width, height };
    for (const box of [{ x: 200, y: 100, width: 300, height: 300 }, { x: 600, y: 450, width: 80, height: 80 }, { x: -20, y: -10, width: 60, height: 60 }]) {
      const meta = await sharp(await cropFace(rgb, box)).metadata();
      expect(meta.format).toBe('jpeg');
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(160);
      expect(Math.min(meta.width!, meta.height!)).toBeGreaterThan(0);
    }
  });

  it('refuses what is not an image; the item is then kept without a picture, and the page says so', async () => {
    const junk = { kind: 'encoded' as const, bytes: new TextEncoder().encode('not a jpeg') };
    await expect(cropFace(junk, { x: 0, y: 0, width: 10, height: 10 })).rejects.toThrow();
    reviews.keep({ kind: 'unknown', cameraId: 'door', at: Date.parse(LUNCH), image: junk, box: { x: 0, y: 0, width: 10, height: 10 }, nearest: [] });
    await reviews.idle();
    expect(reviews.list()).toMatchObject([{ kind: 'unknown', hasCrop: false, nearest: [] }]);
    expect(lines.some((l) => l.msg === 'review crop failed')).toBe(true);
  });
});

describe('review crops at rest', () => {
  const faceJpeg = () => sharp({ create: { width: 96, height: 96, channels: 3, background: { r: 120, g: 110, b: 100 } } }).jpeg().toBuffer();
  const item = (id: string) => ({ id, kind: 'unknown' as const, at: LUNCH, cameraId: 'door', nearest: [] });

  it('are sealed with the box key: the column holds no JPEG, the repository gives the JPEG back', async () => {
    const jpeg = await faceJpeg();
    const repo = createReviewRepository(db);
    repo.insert(item('r1'), jpeg);
    const stored = db.prepare("SELECT crop FROM review_items WHERE id = 'r1'").pluck().get() as Buffer;
    expect(stored.includes(Buffer.from([0xff, 0xd8, 0xff]))).toBe(false);
    expect(stored.length).toBeGreaterThan(jpeg.length);
    expect(repo.crop('r1')).toEqual(jpeg);
    // Moved to another item's row, it does not open.
    db.prepare("INSERT INTO review_items (id, kind, at, camera_id, nearest, crop) VALUES ('r2', 'unknown', @at, 'door', '[]', @crop)").run({ at: LUNCH, crop: stored });
    expect(repo.crop('r2')).toBeUndefined();
  });

  it('kept in clear by an older box are sealed when the repository opens', async () => {
    const jpeg = await faceJpeg();
    db.prepare("INSERT INTO review_items (id, kind, at, camera_id, nearest, crop) VALUES ('old', 'unknown', @at, 'door', '[]', @crop)").run({ at: LUNCH, crop: jpeg });
    const repo = createReviewRepository(db);
    expect((db.prepare("SELECT crop FROM review_items WHERE id = 'old'").pluck().get() as Buffer).subarray(0, 2)).not.toEqual(Buffer.from([0xff, 0xd8]));
    expect(repo.crop('old')).toEqual(jpeg);
  });
});
