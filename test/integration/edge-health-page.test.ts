/**
 * The box health page (/staff/health): for logged-in staff of either role, refused without a
 * session, showing the status's figures in the staff's language. Real Fastify and SQLite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../common/sqlite.ts';
import { healthWebPlugin } from '../../edge/src/web/pages/health-page.ts';
import { problemsOf, type EdgeStatus } from '../../edge/src/web/status-server.ts';
import { edgeTempDir, openEdgeDb, TestClock } from '../helpers/edge-fixtures.ts';
import { loginAs, staffTestApp } from '../helpers/staff-session.ts';

const base: Omit<EdgeStatus, 'state' | 'problems'> = {
  centreId: 'c-001',
  deviceId: 'door1',
  checkIns: { serviceDate: '2025-03-10', today: 12, total: 345 },
  outboxPending: 3,
  outboxOldestAt: '2025-03-10T03:01:00.000Z',
  outboxAlarm: false,
  mqtt: { connected: false, lastReceiptAt: null },
  engine: { backend: 'wasm', detector: 'tinyFaceDetector' },
  model: { id: 'fr-feature', dimension: 512 },
  cameras: [
    { id: 'door', state: 'running', kind: 'v4l2', source: '/dev/video0', frames: 100, fps: 4.9, lastFrameAt: '2025-03-10T03:59:59.000Z', lastFrameAgeMs: 1200 },
    { id: 'side', state: 'down', kind: 'stream', source: 'rtsp://cam/<x>', frames: 0, lastFrameAt: null, lastFrameAgeMs: null, error: 'cannot open <rtsp>' },
  ],
  clock: { state: 'server', offsetMs: 12.4, floor: '2025-03-10T00:00:00.000Z', heldCheckIns: 0 },
  reviews: { pending: 4, oldestAt: '2025-03-10T03:20:00.000Z', byKind: { unknown: 2, margin: 0, antispoof: 1, clock: 1 } },
  kiosk: { clients: 2, voice: { engine: 'espeak-ng', voice: 'cmn', state: 'missing', error: 'kiosk voice: espeak-ng is not installed (apt-get install espeak-ng); the kiosk shows text only', cached: 0 } },
  disk: { path: '/var/lib/mealcheck', freeBytes: 12.3e9, totalBytes: 32e9 },
  cpuTemperatureC: 51.2,
  version: 'mealcheck 0.1.0',
  rssMb: 210,
  centreConfig: {
    version: 7,
    appliedAt: '2025-03-10T01:00:00.000Z',
    rules: [
      { v: 1, id: 3, code: 'low-income', category: '低保<b>', meal: 'lunch', amountFen: 550, maxPerDay: 1, effectiveFrom: '2025-01-01', effectiveTo: '2025-03-31' },
      { v: 1, id: 4, code: 'over-80', category: '高龄', meal: 'any', amountFen: 300, maxMealsPerMonth: 40, maxFenPerMonth: 9000, effectiveFrom: '2025-01-01' },
    ],
    skippedRules: 0,
  },
  startedAt: '2025-03-10T00:00:00.000Z',
};
let reviews: EdgeStatus['reviews'];
const status = (): EdgeStatus => {
  const problems = problemsOf(base);
  return { ...base, ...(reviews ? { reviews } : {}), state: problems.length ? 'degraded' : 'ok', problems };
};

let tmp: ReturnType<typeof edgeTempDir>;
let db: Db;
let edge: ReturnType<typeof staffTestApp>;
beforeEach(() => {
  reviews = base.reviews;
  tmp = edgeTempDir();
  db = openEdgeDb(tmp.dir);
  edge = staffTestApp(db, new TestClock('2025-03-10T04:00:00.000Z'), { plugins: [healthWebPlugin({ status })] });
});
afterEach(async () => {
  await edge.server.stop();
  db.close();
  tmp.cleanup();
});

describe('/staff/health', () => {
  it('401 without a session, and a browser is sent to the login page', async () => {
    const api = await edge.app.inject({ method: 'GET', url: '/staff/health' });
    expect(api.statusCode).toBe(401);
    expect(api.json()).toEqual({ error: expect.stringMatching(/log in/) });
    const page = await edge.app.inject({ method: 'GET', url: '/staff/health', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/staff/login?next=%2Fstaff%2Fhealth');
  });

  it.each(['staff', 'manager'] as const)('shows a %s the status in words, values escaped', async (role) => {
    const s = await loginAs(edge.app, edge.staff, { role });
    const res = await edge.app.inject({ method: 'GET', url: '/staff/health', headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const html = res.body;
    expect(html).toContain('需要处理');
    expect(html).toContain('camera side: cannot open &lt;rtsp&gt;');
    expect(html).not.toContain('<rtsp>');
    expect(html).toContain('未安装 espeak-ng，仅显示文字');
    expect(html).toContain('12.3 GB 可用，共 32.0 GB（38%）');
    expect(html).toContain('51.2 °C');
    expect(html).toContain('mealcheck 0.1.0');
    expect(html).toContain('fr-feature (512-d)');
    expect(html).toMatch(/<tr id="outbox-pending"><th scope="row">等待服务器确认<\/th><td>3<\/td>/);
    expect(html).toContain('未连接');
    expect(html).toContain('服务器校准');
    expect(html).toContain('1 秒前');
    expect(html).toContain('故障（正在重试）');
    expect(html).toContain('data-refresh="10"');
    // The review queue: how many, the oldest (11:20 in Shanghai), the kinds there are; a link to it.
    expect(html).toMatch(/<tr id="reviews"><th scope="row">待复核<\/th><td><a href="\/staff\/review">4 条，最早 [^<]*11:20[^<]*<\/a><br><small>未识别 2 · 疑似照片 1 · 时间未校准 1<\/small><\/td>/);
    // The subsidy rules the bureau sent down, names escaped, fen shown as yuan.
    expect(html).toContain('配置版本 7');
    expect(html).toMatch(/<tr data-rule="3"><td>低保&lt;b&gt;<\/td><td>午餐<\/td><td class="amount">5\.50 元<\/td><td>每日 1 餐<\/td><td>2025-01-01 至 2025-03-31<\/td><\/tr>/);
    expect(html).toMatch(/<tr data-rule="4"><td>高龄<\/td><td>不限餐次<\/td><td class="amount">3\.00 元<\/td><td>每月 40 餐 · 每月 90\.00 元<\/td><td>2025-01-01 起<\/td><\/tr>/);
    expect(html).not.toContain('id="rules-skipped"');
  });

  it('says when no config has come yet, when it has no rules, and when rules were skipped', async () => {
    const s = await loginAs(edge.app, edge.staff, { role: 'staff' });
    const page = async (centreConfig: EdgeStatus['centreConfig']) => {
      base.centreConfig = centreConfig;
      return (await edge.app.inject({ method: 'GET', url: '/staff/health', headers: { cookie: s.cookie } })).body;
    };
    const held = base.centreConfig;
    try {
      expect(await page({ version: null, appliedAt: null, rules: [], skippedRules: 0 })).toContain('尚未收到民政局的配置');
      expect(await page({ version: 2, appliedAt: '2025-03-10T01:00:00.000Z', rules: [], skippedRules: 0 })).toContain('民政局尚未设置补贴标准');
      expect(await page({ ...held!, skippedRules: 2 })).toMatch(/id="rules-skipped">有 2 条补贴标准是本设备不认识的新格式/);
    } finally {
      base.centreConfig = held;
    }
  });

  it('shows 0 to review when the queue is empty', async () => {
    reviews = { pending: 0, oldestAt: null, byKind: { unknown: 0, margin: 0, antispoof: 0, clock: 0 } };
    const s = await loginAs(edge.app, edge.staff, { role: 'staff' });
    const res = await edge.app.inject({ method: 'GET', url: '/staff/health', headers: { cookie: s.cookie } });
    expect(res.body).toMatch(/<tr id="reviews"><th scope="row">待复核<\/th><td>0<\/td>/);
  });

  it('in English after the switch', async () => {
    const s = await loginAs(edge.app, edge.staff, { role: 'staff' });
    const res = await edge.app.inject({ method: 'GET', url: '/staff/health', headers: { cookie: `${s.cookie}; mealcheck_lang=en` } });
    expect(res.body).toContain('Needs attention');
    expect(res.body).toContain('12.3 GB free of 32.0 GB (38%)');
    expect(res.body).toContain('espeak-ng not installed: text only');
    expect(res.body).toMatch(/<tr id="reviews"><th scope="row">To review<\/th><td><a href="\/staff\/review">4, oldest [^<]*<\/a><br><small>Not recognised 2 · Possible photo 1 · Clock not set 1<\/small>/);
    expect(res.body).toContain('Subsidy rules (from the bureau)');
    expect(res.body).toMatch(/<td>any meal<\/td><td class="amount">¥3\.00<\/td><td>40 meals a month · ¥90\.00 a month<\/td><td>from 2025-01-01<\/td>/);
  });

  it('is on the home menu for staff', async () => {
    const s = await loginAs(edge.app, edge.staff, { role: 'staff' });
    const home = await edge.app.inject({ method: 'GET', url: '/staff/', headers: { cookie: s.cookie } });
    expect(home.body).toMatch(/<a href="\/staff\/health" id="menu-health"><strong>设备状态<\/strong>/);
  });
});

describe('problemsOf (box)', () => {
  it('names low disk and a hot CPU', () => {
    const p = problemsOf({ ...base, kiosk: undefined, cameras: [], disk: { path: '/data', freeBytes: 100e6, totalBytes: 32e9 }, cpuTemperatureC: 85 });
    expect(p).toContain('disk: only 100 MB free under /data; meals are still recorded, but free space before SQLite runs out');
    expect(p).toContain('temperature: the CPU is at 85 °C (a Pi slows down from 80 °C): give the box air or a heat sink');
  });
});
