/**
 * `node scripts/run.js scripts/screenshots.ts [--out DIR]`: the README's screenshots of the
 * staff pages, taken in Debian's Chromium at tablet size (1024x600) from a real edge HTTP
 * server on a throw-away database. Each entry of SCREENS logs in as it needs and opens a page;
 * other features add theirs (with `plugins` for their routes and `seed` for their data).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { parseOptions, type CommandSpec } from '../common/config.ts';
import { openEdgeDatabase } from '../edge/src/main.ts';
import type { StaffService } from '../edge/src/staff/staff-service.ts';
import { launchChromium, TABLET } from '../test/helpers/browser.ts';
import { TestClock } from '../test/helpers/edge-fixtures.ts';
import { mealTestApp, type MealTestApp } from '../test/helpers/meal-app.ts';

/** The screenshots' time: 12:05 in Shanghai, lunch, so today's page has an open window. */
const SHOT_TIME = '2025-03-10T04:05:00.000Z';
import type { Clock } from '../common/clock.ts';
import { DEFAULT_MEAL_WINDOWS, parseMealWindows } from '../common/meal-windows.ts';
import { KioskHub } from '../edge/src/kiosk/kiosk-hub.ts';
import { kioskWebPlugin } from '../edge/src/web/kiosk-routes.ts';
import { healthWebPlugin } from '../edge/src/web/pages/health-page.ts';
import { problemsOf, type EdgeStatus } from '../edge/src/web/status-server.ts';

interface Screen {
  file: string;
  /** Log in as this account first (staff id, PIN), or not at all. */
  as?: { id: string; pin: string };
  lang?: 'zh-CN' | 'en';
  go: (page: Page, base: string) => Promise<void>;
}

const MANAGER = { id: 'M001', pin: '135790' };

/** The kiosk's hub, at 11:42 on a Monday (lunch open), fed by hand below. */
const KIOSK_CLOCK: Clock = { now: () => new Date('2025-03-10T03:42:00.000Z') };
const kioskHub = new KioskHub({ clock: KIOSK_CLOCK, windows: parseMealWindows(DEFAULT_MEAL_WINDOWS), timeZone: 'Asia/Shanghai', nameMode: 'masked' });
const frame = { seq: 0, at: 0 };
const wangXiuying = { eventId: 'e1', elderId: 'E001', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: '2025-03-10T03:42:00.000Z', method: 'face' } as const;

async function kiosk(p: Page, base: string, then: () => void, state: string): Promise<void> {
  await p.goto(`${base}/kiosk`);
  await p.waitForFunction(() => (globalThis as unknown as { __kiosk: { connected: boolean } }).__kiosk.connected);
  then();
  await p.waitForSelector(`body[data-state=${state}]`);
}

/** A box with a camera down and no voice, as the health page shows it. */
function sampleStatus(): EdgeStatus {
  const s: Omit<EdgeStatus, 'state' | 'problems'> = {
    centreId: 'centre-001',
    deviceId: 'door-1',
    checkIns: { serviceDate: '2025-03-10', today: 37, total: 5120 },
    outboxPending: 2,
    outboxOldestAt: new Date(Date.now() - 40_000).toISOString(),
    outboxAlarm: false,
    conflicts: 0,
    mqtt: { connected: true, lastReceiptAt: new Date(Date.now() - 30_000).toISOString() },
    engine: { backend: 'wasm', detector: 'tinyFaceDetector' },
    model: { id: 'fr-feature', dimension: 512 },
    unknown: 4,
    cameras: [
      { id: 'door', state: 'running', kind: 'v4l2', source: '/dev/video0', frames: 48211, fps: 5, lastFrameAt: new Date().toISOString(), lastFrameAgeMs: 180 },
      { id: 'side', state: 'down', kind: 'stream', source: 'rtsp://192.168.1.31/stream1', frames: 0, lastFrameAt: null, lastFrameAgeMs: null, restarts: 3, error: 'connection refused (retrying)' },
    ],
    clock: { state: 'server', offsetMs: 38, syncedAt: new Date(Date.now() - 600_000).toISOString(), floor: '2025-03-10T00:00:00.000Z', heldCheckIns: 0 },
    reviews: { pending: 3, oldestAt: new Date(Date.now() - 25 * 60_000).toISOString(), byKind: { unknown: 2, margin: 0, antispoof: 0, clock: 1 } },
    kiosk: { clients: 1, voice: { engine: 'espeak-ng', voice: 'cmn', state: 'ready', cached: 9 } },
    disk: { path: '/var/lib/mealcheck', freeBytes: 21.4e9, totalBytes: 31.1e9 },
    cpuTemperatureC: 52.6,
    version: 'mealcheck 0.1.0',
    rssMb: 231,
    startedAt: new Date(Date.now() - 3 * 3600_000).toISOString(),
  };
  const problems = problemsOf(s);
  return { ...s, state: problems.length ? 'degraded' : 'ok', problems };
}

export const SCREENS: Screen[] = [
  { file: 'staff-login.png', go: async (p, base) => void (await p.goto(`${base}/staff/login`)) },
  {
    file: 'staff-login-locked.png',
    go: async (p, base) => {
      for (let i = 0; i < 5; i++) {
        await p.goto(`${base}/staff/login`);
        await p.fill('#staffId', 'S002');
        await p.fill('#pin', '000000');
        await p.click('#login-form button[type=submit]');
      }
    },
  },
  { file: 'staff-home.png', as: MANAGER, go: async (p, base) => void (await p.goto(`${base}/staff/`)) },
  { file: 'staff-home-en.png', as: MANAGER, lang: 'en', go: async (p, base) => void (await p.goto(`${base}/staff/`)) },
  {
    file: 'staff-accounts.png',
    as: MANAGER,
    go: async (p, base) => {
      await p.goto(`${base}/staff/accounts`);
      await p.fill('#name', '赵敏');
      await p.click('#add-staff button[type=submit]');
    },
  },
  { file: 'staff-pin.png', as: MANAGER, go: async (p, base) => void (await p.goto(`${base}/staff/pin`)) },
  { file: 'meals-today.png', as: MANAGER, go: async (p, base) => void (await p.goto(`${base}/staff/today`)) },
  {
    file: 'meals-record.png',
    as: MANAGER,
    go: async (p, base) => {
      await p.goto(`${base}/staff/meals?elder=E006`);
      await p.fill('#proxyName', '杨明（儿子）');
    },
  },
  { file: 'staff-health.png', as: MANAGER, go: async (p, base) => void (await p.goto(`${base}/staff/health`)) },
  { file: 'kiosk-idle.png', go: (p, base) => kiosk(p, base, () => {}, 'idle') },
  { file: 'kiosk-wait.png', go: (p, base) => kiosk(p, base, () => kioskHub.deciding({ cameraId: 'door', deciding: true, frame }), 'wait') },
  {
    file: 'kiosk-check-in.png',
    go: (p, base) => kiosk(p, base, () => kioskHub.checkIn({ cameraId: 'door', trackId: 1, elderId: 'E001', distance: 0.2, agreeing: 1, votes: 1, result: { status: 'recorded', checkIn: wangXiuying }, frame }), 'decision'),
  },
  {
    file: 'kiosk-already.png',
    go: (p, base) => kiosk(p, base, () => kioskHub.checkIn({ cameraId: 'door', trackId: 2, elderId: 'E001', distance: 0.2, agreeing: 1, votes: 1, result: { status: 'already-checked-in', checkIn: wangXiuying }, frame }), 'decision'),
  },
  { file: 'kiosk-unknown.png', go: (p, base) => kiosk(p, base, () => kioskHub.unknown({ cameraId: 'door', trackId: 3, reason: 'above-threshold', votes: 5, frame }), 'decision') },
];

/** Today's meals for the meal pages' screenshots: faces, meals by hand, a void, regulars of lunch. */
function seedMeals(edge: MealTestApp, clock: TestClock): void {
  const names = ['王秀英', '李桂兰', '张建国', '刘淑珍', '陈德明', '杨玉兰', '赵志刚'];
  names.forEach((n, i) => edge.elders.upsertElder(`E00${i + 1}`, n));
  // Last week's lunches make regulars of E005 and E006.
  const day = Date.parse(SHOT_TIME);
  for (const d of [1, 2, 3, 4]) {
    clock.set(new Date(day - d * 86_400_000).toISOString());
    for (const id of ['E005', 'E006']) edge.checkIns.record({ elderId: id, method: 'face', score: 0.3, cameraId: 'door' });
  }
  clock.set(new Date(day - 3_600_000 * 4).toISOString()); // 08:05, breakfast
  edge.checkIns.record({ elderId: 'E001', method: 'face', score: 0.31, cameraId: 'door' });
  clock.set(new Date(day - 55 * 60_000).toISOString()); // 11:10
  edge.checkIns.record({ elderId: 'E001', method: 'face', score: 0.28, cameraId: 'door' });
  const wrong = edge.checkIns.record({ elderId: 'E003', method: 'face', score: 0.52, cameraId: 'door' });
  clock.set(new Date(day - 40 * 60_000).toISOString());
  edge.checkIns.record({ elderId: 'E002', method: 'manual', staffId: MANAGER.id });
  edge.checkIns.record({ elderId: 'E004', method: 'delivery', staffId: 'S001' });
  if (wrong.status === 'recorded') edge.checkIns.void({ eventId: wrong.checkIn.eventId, staffId: MANAGER.id, reason: '认错人，是赵志刚' });
  edge.checkIns.record({ elderId: 'E007', method: 'proxy', staffId: 'S001', proxyName: '赵强（儿子）' });
  clock.set(SHOT_TIME);
}

async function seed(staff: StaffService): Promise<void> {
  await staff.add({ staffId: MANAGER.id, name: '张丽', role: 'manager', pin: MANAGER.pin }, null);
  await staff.add({ staffId: 'S001', name: '王芳', role: 'staff', pin: '864209' }, null);
  await staff.add({ staffId: 'S002', name: '李建国', role: 'staff', pin: '975310' }, null);
}

const SPEC = {
  usage: 'node scripts/run.js scripts/screenshots.ts [--out DIR]',
  options: { out: { flag: 'out', type: 'string', default: 'docs/screenshots', arg: 'DIR', doc: 'where the PNG files go' } },
} as const satisfies CommandSpec;

async function main(): Promise<void> {
  const p = parseOptions(process.argv.slice(2), SPEC);
  if (p.help !== undefined) return console.log(p.help);
  const dir = mkdtempSync(join(tmpdir(), 'mealcheck-shots-'));
  const db = openEdgeDatabase(join(dir, 'edge.db'));
  const clock = new TestClock(SHOT_TIME);
  const edge = mealTestApp(db, clock, [kioskWebPlugin({ hub: kioskHub, timeZone: 'Asia/Shanghai', showSeconds: 60 }), healthWebPlugin({ status: sampleStatus })]);
  const { server, staff } = edge;
  await seed(staff);
  seedMeals(edge, clock);
  await server.start();
  const base = `http://127.0.0.1:${server.port()}`;
  const browser = await launchChromium();
  mkdirSync(p.options.out, { recursive: true });
  try {
    for (const s of SCREENS) {
      const context = await browser.newContext({ viewport: TABLET });
      if (s.lang) await context.addCookies([{ name: 'mealcheck_lang', value: s.lang, url: base }]);
      const page = await context.newPage();
      if (s.as) {
        await page.goto(`${base}/staff/login`);
        await page.fill('#staffId', s.as.id);
        await page.fill('#pin', s.as.pin);
        await page.click('#login-form button[type=submit]');
      }
      await s.go(page, base);
      await page.screenshot({ path: join(p.options.out, s.file), fullPage: true });
      console.log(`${join(p.options.out, s.file)}`);
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
