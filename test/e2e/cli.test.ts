/**
 * The programs as an operator runs them, as separate processes: `mealcheck server`,
 * `mealcheck enrol` and `mealcheck edge` over a folder of camera frames, with the real face
 * models on faces cut from the photos shipped in @vladmandic/face-api.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderScene, type DemoPerson } from '../../scripts/demo/demo-scene.ts';
import { ALL_DAY_WINDOWS } from '../helpers/all-day.ts';
import { mealcheck, runMealcheck, type Running } from '../helpers/processes.ts';
import { cropAround, sampleBytes } from '../helpers/vision-samples.ts';

const TOKEN = 'e2e-token-0123456789abcdef';
const ALL_DAY = ALL_DAY_WINDOWS;

// Face boxes in sample1.jpg as the SSD detector finds them (left to right).
const SAMPLE1_FACES = [
  { x: 414, y: 355, width: 177, height: 240 },
  { x: 838, y: 421, width: 186, height: 228 },
  { x: 1476, y: 199, width: 203, height: 241 },
];

describe('mealcheck server, enrol and edge as processes', () => {
  let dir: string;
  const photos: string[] = [];
  const running: Running[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mealcheck-e2e-'));
    const photoDir = join(dir, 'photos');
    mkdirSync(photoDir);
    const group = sampleBytes(1);
    for (const [i, box] of SAMPLE1_FACES.entries()) {
      const file = join(photoDir, `face${i + 1}.jpg`);
      writeFileSync(file, await cropAround(group, box, { margin: 0.7 }));
      photos.push(file);
    }
    writeFileSync(join(photoDir, 'group.jpg'), group);
  });

  afterAll(async () => {
    for (const r of running) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to enrol a photo with several faces, naming the photo, and stores nothing', async () => {
    const group = join(dir, 'photos', 'group.jpg');
    const r = await mealcheck(['enrol', '--data', join(dir, 'refused'), '--elder', 'E9', '--name', '王秀英', '--signed-by', 'elder', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photos[0]!, group]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(group);
    expect(r.stderr).toMatch(/3 faces|several faces/);
    expect(r.stderr).toContain('nothing stored');
  }, 120_000);

  it('refuses to enrol without a signed consent, naming the options that record it, and stores no face', async () => {
    const data = join(dir, 'no-consent');
    const r = await mealcheck(['enrol', '--data', data, '--elder', 'E5', '--name', '王秀英', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photos[0]!]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no signed consent to face recognition on record, so no face is enrolled: record it with --signed-by elder \(or --signed-by guardian --guardian NAME\)/);
    const noName = await mealcheck(['enrol', '--data', data, '--elder', 'E6', photos[0]!]);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('give --name NAME to register them');
    const noStaff = await mealcheck(['enrol', '--data', data, '--elder', 'E6', '--name', '李桂兰', '--signed-by', 'guardian', photos[0]!]);
    expect(noStaff.code).toBe(2);
    expect(noStaff.stderr).toMatch(/--guardian NAME|--centre ID is required/);
    // Registered (forwarded), no face until the consent is recorded; then the same command enrols.
    const list = await mealcheck(['elder', 'list', '--data', data]);
    expect(list.stdout).toMatch(/^E5\t王秀英\tactive\tNO CONSENT\t0 template\(s\)/m);
    const ok = await mealcheck(['enrol', '--data', data, '--elder', 'E5', '--signed-by', 'guardian', '--guardian', '王小明', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photos[0]!]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('recorded for E5: consent');
    expect(ok.stdout).toContain('enrolled E5 王秀英: 1 template(s)');
  }, 180_000);

  it('refuses to enrol a face already enrolled as another elder, naming the elder, unless --allow-lookalike', async () => {
    const data = join(dir, 'lookalike');
    expect((await mealcheck(['enrol', '--data', data, '--elder', 'E1', '--name', '王秀英', '--signed-by', 'elder', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photos[0]!])).code).toBe(0);
    const again = await mealcheck(['enrol', '--data', data, '--elder', 'E7', '--name', '李桂兰', '--signed-by', 'elder', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photos[0]!]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('looks like elder E1 (王秀英)');
    expect(again.stderr).toContain('nothing stored');
    // More photos of the same elder are not a look-alike of herself.
    expect((await mealcheck(['enrol', '--data', data, '--elder', 'E1', '--name', '王秀英', '--signed-by', 'elder', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photos[0]!])).code).toBe(0);
    const allowed = await mealcheck(['enrol', '--data', data, '--elder', 'E7', '--name', '李桂兰', '--signed-by', 'elder', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', '--allow-lookalike', photos[0]!]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain('enrolled E7 李桂兰: 1 template(s)');
  }, 180_000);

  it('refuses to start the edge when a model file is missing, naming the file', async () => {
    const emptyModels = join(dir, 'no-models');
    mkdirSync(emptyModels);
    const r = await mealcheck(['edge', '--centre', 'c1', '--device', 'd1', '--data', join(dir, 'edge-nomodels'), '--models', emptyModels, '--http-port', '0', '--server', 'mqtt://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ssd_mobilenetv1_model|face_recognition_model|tiny_face_detector|face_landmark_68/);
    expect(r.stderr).toContain('npm install');
  }, 120_000);

  it('an enrolled elder walking past the camera becomes one meal in the server statistics; a stranger none', async () => {
    const server = runMealcheck(['server', '--data', join(dir, 'server'), '--http-port', '0', '--mqtt-port', '0'], { MEALCHECK_ADMIN_TOKEN: TOKEN });
    running.push(server);
    const [, httpUrl, mqttUrl] = await server.waitFor(/HTTP (http:\/\/\S+), MQTT (mqtt:\/\/\S+)/);
    // The server checks each meal against the centre's windows: give it the edge's, while it runs.
    const serverData = join(dir, 'server');
    const bad = await mealcheck(['centre', 'set', '--data', serverData, '--centre', 'c-e2e', '--time-zone', 'Mars/Olympus', '--meal-windows', 'lunch=13:00-11:00']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--time-zone: "Mars\/Olympus" is not an IANA time zone.*--meal-windows: lunch: 13:00-11:00 ends before it starts/s);
    const set = await mealcheck(['centre', 'set', '--data', serverData, '--centre', 'c-e2e', '--meal-windows', ALL_DAY]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`centre c-e2e: time zone Asia/Shanghai, meal windows ${ALL_DAY}`);
    expect((await mealcheck(['centre', 'list', '--data', serverData])).stdout).toMatch(/^c-e2e\tAsia\/Shanghai\tbreakfast=00:00-08:00/m);
    expect((await mealcheck(['month', 'close', '--data', serverData, '--month', '2026-13'])).code).toBe(2);
    const closed = await mealcheck(['month', 'close', '--data', serverData, '--month', '2020-01', '--by', 'e2e']);
    expect(closed.stdout).toContain('month 2020-01 closed');
    expect((await mealcheck(['month', 'list', '--data', serverData])).stdout).toMatch(/^2020-01\tclosed \S+ by e2e$/m);

    const edgeData = join(dir, 'edge');
    for (const [i, name] of [['1', '王秀英'], ['2', '李桂兰']] as const) {
      const r = await mealcheck(['enrol', '--data', edgeData, '--elder', `E${i}`, '--name', name, '--signed-by', 'elder', '--centre', 'c-e2e', '--device', 'door-1', '--staff', 'S01', photos[Number(i) - 1]!]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`enrolled E${i} ${name}`);
    }

    // Frames: E1, a stranger (face 3, never enrolled), then E1 again.
    const { readFileSync } = await import('node:fs');
    const person = (id: string, file: string, enrolled: boolean): DemoPerson => {
      const jpeg = readFileSync(file);
      return { id, name: id, enrolled, portrait: jpeg, enrolPhotos: [jpeg], source: file };
    };
    const frames = join(dir, 'frames');
    await renderScene([person('E1', photos[0]!, true), person('X1', photos[2]!, false)], frames, { framesPerVisit: 5, gapFrames: 6, repeatVisits: 1 });

    const edge = runMealcheck(['edge', '--centre', 'c-e2e', '--device', 'door-1', '--data', edgeData, '--server', mqttUrl!, '--camera', frames, '--fps', '2', '--http-port', '0', '--meal-windows', ALL_DAY]);
    running.push(edge);
    const [, statusUrl] = await edge.waitFor(/status (http:\/\/\S+)/, 90_000);

    type Status = { checkIns: { total: number }; outboxPending: number; unknown?: number };
    let status: Status | undefined;
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      status = (await (await fetch(statusUrl!)).json()) as Status;
      if (status.checkIns.total >= 1 && status.outboxPending === 0 && (status.unknown ?? 0) >= 1) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(status?.checkIns.total).toBe(1);
    expect(status?.unknown).toBeGreaterThanOrEqual(1);
    expect(status?.outboxPending).toBe(0);

    const unauthorised = await fetch(`${httpUrl}/api/v1/stats/meals?from=2026-01-01&to=2026-12-31`);
    expect(unauthorised.status).toBe(401);
    const res = await fetch(`${httpUrl}/api/v1/stats/meals?from=2026-01-01&to=2027-12-31&groupBy=centre`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as { total: number; rows: Array<{ centreId: string; meals: number }> };
    expect(stats.rows).toEqual([{ centreId: 'c-e2e', meals: 1, voided: 0 }]);
    // The elders registered by `mealcheck enrol` went up through the same outbox: the registry lists them.
    const elders = await fetch(`${httpUrl}/api/v1/elders?centreId=c-e2e`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(((await elders.json()) as { elders: Array<{ elderId: string; name: string; consent: unknown }> }).elders.map((e) => [e.elderId, e.name, e.consent !== null])).toEqual([
      ['E1', '王秀英', true],
      ['E2', '李桂兰', true],
    ]);

    expect(await edge.stop()).toBe(0);
    expect(await server.stop()).toBe(0);
  }, 300_000);
});
