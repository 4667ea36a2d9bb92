/**
 * Enrolment and removal take effect at a running edge's door without a restart: the edge polls
 * its templates' version and reloads its matcher. The writers here are other database
 * connections (as the `mealcheck enrol` and `mealcheck elder remove` processes are) and the
 * edge's own repository. Real Edge, real SQLite, real folder camera; only the model seam is
 * faked (a frame file's bytes are a scene label, see fake-engine.ts). The same behaviour with
 * the real CLI and the real face engine is in test/e2e/template-reload.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { elderCommand } from '../../edge/src/elders/elder-command.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import type { CheckInEvent, UnknownEvent } from '../../edge/src/recognition/pipeline.ts';
import { edgeTempDir, startWatchedEdge, waitUntil, type LogLine } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { ALL_DAY_WINDOWS } from '../helpers/all-day.ts';

const wang = syntheticDescriptor(11);
const li = syntheticDescriptor(12);

describe('a running edge reloads its templates', () => {
  let tmp: ReturnType<typeof edgeTempDir>;
  let edge: Edge;
  let lines: LogLine[];
  const checkIns: CheckInEvent[] = [];
  const unknowns: UnknownEvent[] = [];

  beforeEach(async () => {
    tmp = edgeTempDir();
    // Two door cameras (one folder twice) that keep showing 王秀英 then 李桂兰, each walking in and out of view.
    const frames = join(tmp.dir, 'frames');
    mkdirSync(frames);
    const scene = ['wang', 'wang', 'wang', 'empty', 'empty', 'empty', 'empty', 'li', 'li', 'li', 'empty', 'empty', 'empty', 'empty'];
    scene.forEach((label, i) => writeFileSync(join(frames, `f${String(i).padStart(2, '0')}.jpg`), label));
    const config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', join(tmp.dir, 'edge'), '--server', 'mqtt://127.0.0.1:1', '--camera', `door=${frames},side=${frames}`, '--camera-loop', '--fps', '20', '--http-port', '0', '--meal-windows', ALL_DAY_WINDOWS], {});
    const engine = new FakeEngine({ empty: [], wang: [fakeFace({ descriptor: wang })], li: [fakeFace({ descriptor: li })] });
    ({ edge, lines } = await startWatchedEdge(config, engine, checkIns, unknowns));
  });

  afterEach(async () => {
    await edge.stop();
    tmp.cleanup();
  });

  const reloads = () => lines.filter((l) => l.msg === 'templates reloaded');

  it('recognises an elder enrolled by another process, and stops once they are removed', async () => {
    await waitUntil(() => unknowns.some((u) => u.reason === 'no-templates'), 'a face seen with nobody enrolled');
    expect(checkIns).toEqual([]);

    // Another connection to the same file, as `mealcheck enrol` has.
    const other = openEdgeDatabase(edge.config.dbFile);
    try {
      const elders = createElderRepository(other);
      elders.upsertElder('E1', '王秀英');
      elders.addTemplate('E1', wang, 'wang-1.jpg', FACE_API_MODEL);
    } finally {
      other.close();
    }
    await waitUntil(() => checkIns.some((c) => c.elderId === 'E1'), '王秀英 checked in without a restart');
    expect(checkIns[0]!.result.status).toBe('recorded');
    expect(reloads()[0]).toMatchObject({ elders: 1, templates: 1 });

    // `mealcheck elder remove`, as the command runs it, on its own connection.
    const out: string[] = [];
    expect(await elderCommand(['remove', '--data', join(tmp.dir, 'edge'), '--elder', 'E1', '--centre', 'c1', '--device', 'd1', '--staff', 'M01'], (s) => out.push(s))).toBe(0);
    expect(out.join('\n')).toContain('removed E1 王秀英 and 1 face template(s)');
    await waitUntil(() => reloads().length === 2, 'the removal reloaded');
    expect(reloads()[1]).toMatchObject({ elders: 0, templates: 0 });
    // Every match after the reload is against the new gallery (reloads run between frames).
    const checkInsAtRemoval = checkIns.length;
    const unknownAtRemoval = unknowns.length;
    await waitUntil(() => unknowns.slice(unknownAtRemoval).filter((u) => u.reason === 'no-templates').length >= 3, '王秀英 seen again, three more times');
    expect(checkIns.slice(checkInsAtRemoval)).toEqual([]);
    // Her meal stays: it is the subsidy history.
    expect(edge.checkIns.countAll()).toBe(1);
  }, 30_000);

  it('takes an enrolment through its own repository too, and reloads once per change for all cameras', async () => {
    await waitUntil(() => unknowns.length >= 1, 'a face seen');
    edge.elders.upsertElder('E2', '李桂兰');
    edge.elders.addTemplate('E2', li, 'li-1.jpg', FACE_API_MODEL);
    await waitUntil(() => checkIns.some((c) => c.elderId === 'E2'), '李桂兰 checked in');
    expect(checkIns.filter((c) => c.elderId === 'E2' && c.result.status === 'recorded')).toHaveLength(1);
    // One gallery shared by both cameras: one reload, not one per camera.
    expect(edge.pipelines).toHaveLength(2);
    expect(reloads()).toHaveLength(1);
    expect(reloads()[0]).toMatchObject({ elders: 1, templates: 1 });
    // Nothing about faces in the log line: counts only.
    expect(Object.keys(reloads()[0]!).sort()).toEqual(['elders', 'level', 'ms', 'msg', 'pid', 'hostname', 'time', 'templates'].sort());
  }, 30_000);
});
