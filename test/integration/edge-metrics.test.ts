/**
 * `GET /metrics` on a running edge: valid Prometheus text with the figures the box keeps (meals,
 * decisions by outcome, engine time, outbox, MQTT link, the process), answered to any peer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { createElderRepository, FACE_API_MODEL } from '../../edge/src/elders/elder-repository.ts';
import { Edge, openEdgeDatabase } from '../../edge/src/main.ts';
import { edgeTempDir, quietEdgeLogger, TestClock } from '../helpers/edge-fixtures.ts';
import { FakeEngine, fakeFace, MemoryFrameSource, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.ts';

const wang = syntheticDescriptor(1);
const li = syntheticDescriptor(2);
const stranger = syntheticDescriptor(99);
const visit = (w: string) => [w, w, w, 'empty', 'empty', 'empty', 'empty', 'empty', 'empty'];

describe('edge /metrics', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  it('the text format reader refuses what Prometheus would (positive control)', () => {
    expect(() => parsePrometheusText('mealcheck_x{camera=cam1} 1\n')).toThrow(/line 1: not a sample/);
    expect(() => parsePrometheusText('# TYPE mealcheck_x countr\n')).toThrow(/unknown type/);
    expect(parsePrometheusText('# TYPE a counter\na{b="c"} 2\n').samples).toEqual([{ name: 'a', labels: { b: 'c' }, value: 2 }]);
  });

  it('counts meals, decisions by outcome and engine time; outbox and MQTT state; process metrics', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const config = { ...loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', `${tmp.dir}/edge`, '--server', 'mqtt://127.0.0.1:1', '--http-port', '0'], {}), realtime: false };
    const db = openEdgeDatabase(config.dbFile);
    const elders = createElderRepository(db);
    elders.upsertElder('E1', '王秀英');
    elders.addTemplate('E1', wang, 'synthetic', FACE_API_MODEL);
    elders.upsertElder('E2', '李桂兰');
    elders.addTemplate('E2', li, 'synthetic', FACE_API_MODEL);
    db.close();
    const engine = new FakeEngine({ empty: [], wang: [fakeFace({ descriptor: wang })], li: [fakeFace({ descriptor: li })], stranger: [fakeFace({ descriptor: stranger })] });
    const source = new MemoryFrameSource([...visit('wang'), ...visit('stranger'), ...visit('li')], 'door');
    const edge = new Edge(config, { engine, source, clock: new TestClock('2026-11-28T04:00:00Z'), logger: quietEdgeLogger });
    const ended = new Promise<void>((r) => edge.once('camera-end', () => r()));
    cleanups.push(() => edge.stop());
    await edge.start();
    await ended;

    const res = await fetch(`${edge.statusUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples, types } = parsePrometheusText(await res.text());
    expect(sampleValue(samples, 'mealcheck_edge_check_ins_total')).toBe(2);
    expect(sampleValue(samples, 'mealcheck_edge_decisions_total', { camera: 'door', outcome: 'recognised' })).toBe(2);
    expect(sampleValue(samples, 'mealcheck_edge_decisions_total', { camera: 'door', outcome: 'recorded' })).toBe(2);
    expect(sampleValue(samples, 'mealcheck_edge_decisions_total', { camera: 'door', outcome: 'unknown' })).toBe(1);
    expect(sampleValue(samples, 'mealcheck_edge_frames_total', { camera: 'door', kind: 'analysed' })).toBe(27);
    // Every analysed frame's engine time is in the histogram.
    expect(sampleValue(samples, 'mealcheck_edge_engine_seconds_count', { camera: 'door' })).toBe(27);
    expect(types.get('mealcheck_edge_engine_seconds')).toBe('histogram');
    // No server: both meals (and their audit-free outbox rows) wait, the link is down.
    expect(sampleValue(samples, 'mealcheck_edge_outbox_pending')).toBe(2);
    expect(sampleValue(samples, 'mealcheck_edge_outbox_oldest_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, 'mealcheck_edge_mqtt_connected')).toBe(0);
    expect(types.get('mealcheck_edge_check_ins_total')).toBe('counter');
    expect(sampleValue(samples, 'mealcheck_edge_process_resident_memory_bytes')).toBeGreaterThan(0);
    // No elder in any label.
    for (const s of samples) for (const v of Object.values(s.labels)) expect(v).not.toMatch(/^E\d|王|李/);
  });
});
