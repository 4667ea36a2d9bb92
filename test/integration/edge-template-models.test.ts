/**
 * After a model change the edge matches with the new model's templates only, and says which
 * elders need enrolling again (start log, GET /api/v1/status, mealcheck elder list).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { elderCommand } from '../../edge/src/elders/elder-command.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import type { CheckInEvent, UnknownEvent } from '../../edge/src/recognition/pipeline.ts';
import type { EdgeStatus } from '../../edge/src/web/status-server.ts';
import { edgeTempDir, startWatchedEdge, waitUntil, type LogLine } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, rng, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { ALL_DAY_WINDOWS } from '../helpers/all-day.ts';

const FR = { id: 'fr-feature', dimension: 512, alignment: 'arcface-112' };

/** A random 512-d unit vector, as the ONNX recognizer gives. */
function unit512(seed: number): Float32Array {
  const r = rng(seed);
  const v = Float32Array.from({ length: 512 }, () => r() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const wang128 = syntheticDescriptor(11);
const li128 = syntheticDescriptor(12);
const wang512 = unit512(21);
const li512 = unit512(22);

describe('an edge whose engine runs another model than some templates', () => {
  let tmp: ReturnType<typeof edgeTempDir>;
  let edge: Edge;
  let lines: LogLine[];
  const checkIns: CheckInEvent[] = [];
  const unknowns: UnknownEvent[] = [];
  let dataDir: string;

  beforeEach(async () => {
    tmp = edgeTempDir();
    dataDir = join(tmp.dir, 'edge');
    const frames = join(tmp.dir, 'frames');
    mkdirSync(frames);
    ['wang', 'wang', 'wang', 'empty', 'empty', 'li', 'li', 'li', 'empty', 'empty'].forEach((label, i) => writeFileSync(join(frames, `f${String(i).padStart(2, '0')}.jpg`), label));
    const config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', dataDir, '--server', 'mqtt://127.0.0.1:1', '--camera', `door=${frames}`, '--camera-loop', '--fps', '20', '--http-port', '0', '--meal-windows', ALL_DAY_WINDOWS], {});

    // Enrolled under face-api: 王秀英 (E1) only so; 李桂兰 (E2) also under fr-feature.
    const db = openEdgeDatabase(config.dbFile);
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    elders.addTemplate('E1', wang128, 'wang-1.jpg', FACE_API_MODEL);
    elders.upsertElder('E2', '李桂兰');
    elders.addTemplate('E2', li128, 'li-1.jpg', FACE_API_MODEL);
    elders.addTemplate('E2', li512, 'li-1.jpg', FR);
    db.close();

    const engine = new FakeEngine({ empty: [], wang: [fakeFace({ descriptor: wang512 })], li: [fakeFace({ descriptor: li512 })] }, FR);
    ({ edge, lines } = await startWatchedEdge(config, engine, checkIns, unknowns));
  });

  afterEach(async () => {
    await edge.stop();
    tmp.cleanup();
  });

  const status = async (): Promise<EdgeStatus> => (await (await fetch(`${edge.statusUrl}/api/v1/status`)).json()) as EdgeStatus;

  it('matches only the engine model\'s templates and names who needs re-enrolment', async () => {
    expect(lines.find((l) => l.msg === 'templates loaded')).toMatchObject({ elders: 1, templates: 1, model: 'fr-feature' });
    expect(lines.find((l) => l.level === 40 && /no face template of model fr-feature/.test(String(l.msg)))).toMatchObject({ elders: 1, first: ['E1'] });

    await waitUntil(() => checkIns.some((c) => c.elderId === 'E2'), '李桂兰 checked in with her fr-feature template');
    await waitUntil(() => unknowns.length >= 2, '王秀英 seen twice');
    // Her face-api template is never compared with a 512-d descriptor: she is not recognised.
    expect(checkIns.filter((c) => c.elderId === 'E1')).toEqual([]);

    const s = await status();
    expect(s.model).toEqual({ id: 'fr-feature', dimension: 512 });
    expect(s.reenrolment).toEqual({ elders: 1, ids: ['E1'] });
    expect(s.state).toBe('degraded');
    expect(s.problems).toEqual([expect.stringMatching(/re-enrolment: 1 elder\(s\) have no face template of model fr-feature.*\(E1\)/)]);

    const out: string[] = [];
    expect(await elderCommand(['list', '--data', dataDir], (l) => out.push(l))).toBe(0);
    expect(out[0]).toMatch(/^E1\t王秀英\tactive\tNO CONSENT\t1 template\(s\) \(face-api 1\)\t/);
    expect(out[1]).toMatch(/^E2\t李桂兰\tactive\tNO CONSENT\t2 template\(s\) \(face-api 1, fr-feature 1\)\t/);

    // Enrolled again with the current model: recognised, and off the list.
    edge.elders.addTemplate('E1', wang512, 'wang-2.jpg', FR);
    await waitUntil(() => checkIns.some((c) => c.elderId === 'E1'), '王秀英 checked in after re-enrolment');
    const after = await status();
    expect(after.reenrolment).toEqual({ elders: 0, ids: [] });
    expect(after.state).toBe('ok');
  }, 30_000);
});
