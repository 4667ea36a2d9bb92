/**
 * `mealcheck demo`: the whole system on one machine with no camera and nothing to configure.
 * Starts the server with its embedded broker, enrols elders from face photos shipped in npm
 * packages, runs an edge over a frame sequence made from them (with strangers mixed in),
 * shows each check-in as it happens, then, logged in as a demo staff member through the staff
 * API, records a meal by hand and a delivered meal and voids one face check-in, and prints the
 * server's statistics table (meals and voided).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { idNumberCheckChar } from '../../common/id-card.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseOptions, type CommandSpec } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { systemClock, uuidV7Ids } from '../../common/clock.ts';
import { loadConsentTexts } from '../../edge/src/elders/consent-texts.ts';
import { enrolElder } from '../../edge/src/elders/enrolment.ts';
import { createElderRegistry } from '../../edge/src/elders/registry-service.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { createElderRepository } from '../../edge/src/elders/elder-repository.ts';
import { createFrameSources, Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { kioskMessage } from '../../edge/src/meals/kiosk-message.ts';
import { FaceApiEngine } from '../../edge/src/vision/face-api-engine.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer } from '../../server/src/server.ts';
import { pickDemoPeople, renderScene } from './demo-scene.ts';
import { kioskDecisions, kioskGate, PacedFrameSource } from './demo-kiosk.ts';

const CENTRE = 'centre-001';
const DEVICE = 'door-1';
/** The demo runs at any hour: its meal windows cover the whole day. */
const DEMO_MEAL_WINDOWS = 'breakfast=00:00-10:30,lunch=10:30-16:00,dinner=16:00-24:00';
const ELDERS = 8;
const STRANGERS = 3;
/** The demo's staff login, printed for a new user to try the staff pages with; its registrations and consents are recorded by it too. */
const DEMO_STAFF = { staffId: 'DEMO01', name: '演示员', pin: '246810' };
/** The demo's bureau login (an admin, so every bureau page shows); its password is new each run and printed. */
const DEMO_BUREAU_USER = { userId: 'demo-bureau', displayName: '演示管理员', role: 'admin' } as const;
/**
 * The demo's subsidy rules (fen per meal, any meal, no caps): its elders are 低保 and 高龄 in
 * turn, so the month's settlement is their meals times these amounts.
 */
const DEMO_CATEGORIES = [
  { code: 'low-income', name: '低保', amountFen: 500 },
  { code: 'over-80', name: '高龄', amountFen: 300 },
] as const;
/** Elders with no face enrolled: one gets a meal by hand, one a delivered meal. */
const BY_HAND = { manual: { elderId: 'E009', name: '孙美华' }, delivery: { elderId: 'E010', name: '吴凤英' } } as const;

interface StatsRow {
  centreId?: string;
  day?: string;
  meal?: string;
  meals: number;
  voided: number;
}

function printTable(rows: StatsRow[], total: number, voided: number, out: (s: string) => void): void {
  const header = ['centre', 'day', 'meal', 'meals', 'voided'];
  const body = rows.map((r) => [r.centreId ?? '', r.day ?? '', r.meal ?? '', String(r.meals), String(r.voided)]);
  body.push(['total', '', '', String(total), String(voided)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  out(line(header));
  out(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) out(line(r));
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** A made-up resident ID-card number with a valid check character (born 1940-1949), for the demo's i-th elder. */
export function demoIdNumber(i: number): string {
  const first17 = `110105194${i % 10}0101${String(101 + i).padStart(3, '0')}`;
  return first17 + idNumberCheckChar(first17);
}

const DEMO = {
  usage: 'mealcheck demo [--once] [--json] [--data DIR] [--mqtt-url URL]',
  about: 'The whole system on one machine: a server with its embedded broker, elders enrolled from the photos\nshipped in @vladmandic/face-api, an edge over a camera sequence made from them, the statistics table.',
  options: {
    once: { flag: 'once', type: 'boolean', default: false, doc: 'exit after the statistics table' },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'last line of output is a JSON summary' },
    data: { flag: 'data', type: 'string', default: undefined, arg: 'DIR', doc: "keep the demo's databases and frames in DIR (default: a new temporary folder)" },
    mqttUrl: { flag: 'mqtt-url', type: 'string', default: undefined, arg: 'URL', doc: 'run server and edge over this MQTT broker (e.g. Mosquitto at mqtt://127.0.0.1:1883, open to the demo centre) instead of the embedded one' },
  },
} as const satisfies CommandSpec;

/**
 * Logs in as the demo staff member through the edge's staff API and records, for the window open
 * now, a meal by hand and a delivered meal (for two elders with no face enrolled), then voids
 * one face check-in. Throws with the reply when the edge refuses any of it.
 */
async function demoStaffActions(e: Edge, out: (s: string) => void): Promise<{ staffId: string }> {
  await e.staff.add({ staffId: DEMO_STAFF.staffId, name: DEMO_STAFF.name, role: 'manager', pin: DEMO_STAFF.pin }, null);
  const login = await fetch(`${e.statusUrl}/api/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ staffId: DEMO_STAFF.staffId, pin: DEMO_STAFF.pin }) });
  if (!login.ok) throw new Error(`demo staff login refused: ${login.status} ${await login.text()}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const post = async (path: string, body: object): Promise<{ checkIn: { eventId: string; elderName: string; meal: string } }> => {
    const res = await fetch(`${e.statusUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`demo staff action ${path} refused: ${res.status} ${await res.text()}`);
    return (await res.json()) as { checkIn: { eventId: string; elderName: string; meal: string } };
  };
  out(`\nstaff ${DEMO_STAFF.staffId} (${DEMO_STAFF.name}) logged in on the edge:`);
  for (const [method, elder] of Object.entries(BY_HAND)) {
    // Registered at the centre, no face enrolled: staff record their meals by hand.
    e.elders.upsertElder(elder.elderId, elder.name);
    const r = await post('/api/v1/meals', { elderId: elder.elderId, method });
    out(`  ${elder.elderId}  ${r.checkIn.elderName} ${r.checkIn.meal}: recorded by hand (${method})`);
  }
  const face = e.checkIns.listForDay(e.checkIns.today()).find((c) => c.method === 'face');
  if (!face) throw new Error('the demo has no face check-in to void');
  await post(`/api/v1/meals/${face.eventId}/void`, { reason: '演示：作废一条签到' });
  out(`  ${face.elderId}  ${face.elderName} ${face.meal}: face check-in voided (the server stops counting it)`);
  return { staffId: DEMO_STAFF.staffId };
}

export async function demoCommand(argv: string[]): Promise<number> {
  const p = parseOptions(argv, DEMO);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const { once, json } = p.options;
  const dir = p.options.data !== undefined ? resolve(p.options.data) : mkdtempSync(join(tmpdir(), 'mealcheck-demo-'));
  mkdirSync(dir, { recursive: true });
  const out = (s: string) => console.log(s);
  // Logs go to stderr; keep them to warnings so the demo's own lines are readable.
  const logger = createLogger('demo', process.env.MEALCHECK_LOG_LEVEL ?? 'warn');
  const t0 = Date.now();

  out(`mealcheck demo: data in ${dir}`);
  const external = p.options.mqttUrl;
  const server = await startServer(serverSettings({ dataDir: join(dir, 'server'), httpPort: 0, ...(external !== undefined ? { mqttUrl: external } : { mqttPort: 0 }) }), { logger: logger.child({ program: 'server' }) });
  out(`server: HTTP ${server.httpUrl}  MQTT ${server.mqttUrl} (${server.embeddedBroker ? 'embedded' : 'external'} broker)`);
  // The server checks every meal against the centre's windows: give it the demo edge's, through
  // the admin API as an operator would (or \`mealcheck centre set\`), else its meals go to review.
  const centre = await fetch(`${server.httpUrl}/api/v1/centres/${CENTRE}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ mealWindows: DEMO_MEAL_WINDOWS }),
  });
  if (!centre.ok) throw new Error(`cannot set the demo centre's meal windows on the server: ${centre.status} ${await centre.text()}`);
  // The bureau's categories and subsidy rules, through the admin API (or \`mealcheck category|rule\`).
  const admin = async (method: string, path: string, body: object) => {
    const res = await fetch(`${server.httpUrl}/api/v1${path}`, { method, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`demo setup ${method} ${path} refused: ${res.status} ${await res.text()}`);
  };
  for (const c of DEMO_CATEGORIES) {
    await admin('PUT', `/categories/${c.code}`, { name: c.name });
    await admin('POST', '/subsidy-rules', { category: c.code, meal: 'any', amountFen: c.amountFen, effectiveFrom: '2000-01-01' });
  }
  out(`subsidy rules: ${DEMO_CATEGORIES.map((c) => `${c.name} ${(c.amountFen / 100).toFixed(2)} yuan a meal`).join(', ')}`);

  // Padding on: enrolment photos cut from the group photos can be tight around the face.
  const engine = new FaceApiEngine({ logger: logger.child({ program: 'vision' }) });
  let edge: Edge | undefined;
  try {
    await engine.start();
    out(`face engine: backend ${engine.info().backend}, detector ${engine.info().detector}`);

    // People: faces cut from the group photos in @vladmandic/face-api/demo.
    const people = await pickDemoPeople(engine, ELDERS, STRANGERS);
    const edgeConfig = loadEdgeConfig(
      ['--centre', CENTRE, '--device', DEVICE, '--data', join(dir, 'edge'), '--server', server.mqttUrl, '--camera', join(dir, 'frames'), '--http-port', '0', '--meal-windows', DEMO_MEAL_WINDOWS, '--elder-categories', DEMO_CATEGORIES.map((c) => c.name).join(',')],
      // The demo registers its box like an operator would (`mealcheck device add`), so the
      // embedded broker runs with credentials and topic rules on, as in production.
      // An external broker has its own users (for Mosquitto: `mealcheck broker-config`); the demo's URL carries any it needs.
      server.embeddedBroker ? { MEALCHECK_MQTT_USERNAME: `${CENTRE}/${DEVICE}`, MEALCHECK_MQTT_PASSWORD: await server.registerDevice(CENTRE, DEVICE) } : {},
    );
    const db = openEdgeDatabase(edgeConfig.dbFile);
    const elders = createElderRepository(db);
    // Registered with consent, as staff do before any face is taken (the registry forwards both to
    // the server once the edge runs); the photos go to enrolment in memory and are never stored.
    const consentTexts = loadConsentTexts(edgeConfig.elders.consentDir);
    const registry = createElderRegistry({
      db,
      elders,
      outbox: createOutboxRepository(db),
      ids: uuidV7Ids,
      clock: systemClock,
      centreId: CENTRE,
      deviceId: DEVICE,
      timeZone: edgeConfig.meals.timeZone,
      categories: edgeConfig.elders.categories,
      consentTexts,
    });
    for (const [i, p] of people.filter((x) => x.enrolled).entries()) {
      registry.create({ elderId: p.id, name: p.name, idNumber: demoIdNumber(i), category: edgeConfig.elders.categories[i % edgeConfig.elders.categories.length]! }, DEMO_STAFF.staffId, { signedBy: 'elder' });
      const photos = p.enrolPhotos.map((bytes, j) => ({ name: `${p.id}-${j + 1}.jpg`, bytes }));
      const r = await enrolElder({ engine, elders: { ...elders, validConsent: registry.validConsent, transaction: (fn) => db.transaction(fn)() }, elderId: p.id, photos, staffId: DEMO_STAFF.staffId });
      out(`enrolled ${p.id} ${p.name} with consent (${r.templates.length} photos, face from ${p.source})`);
    }
    db.close();
    const strangers = people.filter((x) => !x.enrolled);
    out(`not enrolled: ${strangers.map((s) => `${s.id} (${s.source})`).join(', ')}`);

    const scene = await renderScene(people, join(dir, 'frames'), { repeatVisits: 1 });
    out(`camera: ${scene.frames} frames, ${scene.visits.length} visits (each moved, scaled, re-lit, re-compressed)\n`);

    // The demo analyses every frame (no real-time dropping) so its outcome does not depend on machine speed.
    // The camera waits for the kiosk stream's client (and, without --once, for a person to open
    // the kiosk page, then plays at the camera's rate): every decision reaches the kiosk.
    const gate = kioskGate();
    const demoConfig = { ...edgeConfig, realtime: false };
    const sources = createFrameSources(demoConfig).map((s) => new PacedFrameSource(s, gate.ready, once ? 0 : 1000 / demoConfig.fps));
    const e = new Edge(demoConfig, { engine, sources, logger: logger.child({ program: 'edge' }) });
    edge = e;
    const ended = new Promise<void>((r) => e.once('camera-end', () => r()));
    const timeOf = (at: number) => new Date(at).toLocaleTimeString('en-GB', { timeZone: edgeConfig.meals.timeZone, hour12: false });
    e.on('check-in', (ev) => {
      const msg = kioskMessage(ev.result);
      out(`  ${timeOf(ev.frame.at)}  ${ev.elderId.padEnd(5)} ${msg.text.padEnd(14)}  distance ${ev.distance.toFixed(3)}, ${ev.agreeing}/${ev.votes} frames agree`);
    });
    e.on('unknown', (ev) => {
      out(`  ${timeOf(ev.frame.at)}  ?     请联系工作人员        not recognised (${ev.reason}${ev.distance !== undefined ? `, nearest ${ev.distance.toFixed(3)}` : ''})`);
    });
    let alreadyCheckedIn = 0;
    e.on('check-in', (ev) => {
      if (ev.result.status === 'already-checked-in') alreadyCheckedIn++;
    });
    await e.start();
    out(`kiosk page:  ${e.kioskUrl}${once ? '' : '  (open it now: the camera starts in 8 s)'}\n`);
    const kiosk = await gate.connect(e.statusUrl, once ? 0 : 8000);
    await ended;
    // Every decision the hub sent, as the stream delivered it to a real client.
    await waitFor(() => kioskDecisions(kiosk) >= e.kiosk.published, 5000);
    // Staff at work, through the staff API as the pages use it: a real login, then a meal by hand
    // (the face was not recognised), a delivered meal, and a void of one wrong face check-in.
    const staffActions = await demoStaffActions(e, out);
    const delivered = await waitFor(() => e.forwarder.stats().pending === 0, 30_000);
    if (!delivered) out(`warning: ${e.forwarder.stats().pending} check-ins still waiting for the server's receipt`);

    const day = e.checkIns.today();
    const res = await fetch(`${server.httpUrl}/api/v1/stats/meals?from=${day}&to=${day}&groupBy=centre,day,meal`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    if (!res.ok) throw new Error(`statistics request failed: HTTP ${res.status} ${await res.text()}`);
    const stats = (await res.json()) as { rows: StatsRow[]; total: number; voided: number };
    out('\nmeal statistics from the server:');
    printTable(stats.rows, stats.total, stats.voided, out);

    // The registry went up through the same outbox as the meals: the server lists the elders.
    const reg = await fetch(`${server.httpUrl}/api/v1/elders?centreId=${CENTRE}&limit=1`, { headers: { authorization: `Bearer ${server.token}` } });
    if (!reg.ok) throw new Error(`elder registry request failed: HTTP ${reg.status} ${await reg.text()}`);
    const registered = ((await reg.json()) as { total: number }).total;

    // The month's settlement, as the bureau would pay it (GET /api/v1/settlement).
    const month = day.slice(0, 7);
    const sres = await fetch(`${server.httpUrl}/api/v1/settlement?centreId=${CENTRE}&month=${month}`, { headers: { authorization: `Bearer ${server.token}` } });
    if (!sres.ok) throw new Error(`settlement request failed: HTTP ${sres.status} ${await sres.text()}`);
    const settlement = (await sres.json()) as { totals: { totalFen: number; subsidised: number } };
    out(`\nsettlement ${CENTRE} ${month}: ${settlement.totals.subsidised} subsidised meals, ${(settlement.totals.totalFen / 100).toFixed(2)} yuan (${server.httpUrl}/bureau/settlement?centreId=${CENTRE}&month=${month})`);

    const counters = e.pipeline?.counters();
    // Every check-in of the day, voided ones included: faces, and the meals staff recorded by hand.
    const recorded = e.checkIns.listForDay(day, { voided: true });
    const summary = {
      checkIns: recorded.filter((c) => c.method === 'face').length,
      manual: recorded.filter((c) => c.method === 'manual').length,
      delivery: recorded.filter((c) => c.method === 'delivery').length,
      voided: recorded.filter((c) => c.voided).length,
      meals: stats.total,
      unknown: counters?.unknown ?? 0,
      alreadyCheckedIn,
      /** Messages the kiosk stream delivered to a client: check-ins + already checked in + not recognised. */
      kioskMessages: kioskDecisions(kiosk),
      enrolled: ELDERS,
      /** Elders the server's registry holds for the demo centre (GET /api/v1/elders). */
      registered,
      /** The month's total from the server's settlement report, in yuan. */
      settlementYuan: settlement.totals.totalFen / 100,
      /** The edge's own count, for checking it: meals that stand per elder, with the category the box holds. */
      mealsByElder: Object.values(
        recorded
          .filter((c) => !c.voided)
          .reduce<Record<string, { elderId: string; category: string | null; meals: number }>>((acc, c) => {
            acc[c.elderId] ??= { elderId: c.elderId, category: e.elders.details(c.elderId)?.category ?? null, meals: 0 };
            acc[c.elderId]!.meals++;
            return acc;
          }, {}),
      ),
      strangers: STRANGERS,
      visits: scene.visits.length,
      frames: counters?.frames ?? 0,
      outboxPending: e.forwarder.stats().pending,
      backend: engine.info().backend,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
    };
    out(
      `\n${summary.checkIns} face check-ins, ${summary.manual} meal by hand and ${summary.delivery} delivered (staff ${staffActions.staffId}), ${summary.voided} voided; ` +
        `${summary.meals} meals counted by the server (${summary.checkIns} + ${summary.manual} + ${summary.delivery} - ${summary.voided}), ${summary.unknown} faces not recognised.`,
    );
    if (!once) {
      // A bureau user of the demo's own server, to try the bureau pages with (POST /api/v1/users, as an admin would).
      const password = randomBytes(9).toString('base64url');
      await admin('POST', '/users', { ...DEMO_BUREAU_USER, password });
      out(`\nstill serving: GET ${server.httpUrl}/api/v1/stats/meals (Authorization: Bearer ${server.token})`);
      out(`bureau pages:  ${server.httpUrl}/bureau/  (log in as ${DEMO_BUREAU_USER.userId}, password ${password}; the dashboard, registry, erasures, users, audit, settlement)`);
      out(`edge status:   GET ${e.statusUrl}/api/v1/status`);
      out(`staff pages:   ${e.staffUrl}  (log in as ${DEMO_STAFF.staffId}, PIN ${DEMO_STAFF.pin}; today's list: ${e.staffUrl}today, a meal by hand: ${e.staffUrl}meals)`);
      out(`kiosk page:    ${e.kioskUrl}`);
      out('Ctrl-C to stop.');
    }
    kiosk.close();
    if (json) out(JSON.stringify(summary));
    if (!once) {
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
    }
    return 0;
  } finally {
    if (edge) await edge.stop();
    else await engine.stop();
    await server.stop();
  }
}
