/**
 * `GET /metrics` on a running server (embedded aedes, real ingest): valid Prometheus text behind
 * the bearer token, with messages by outcome, events by result, the broker link, the tables'
 * counts and the dead letters, plus the process's own.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../common/contract.ts';
import { serverSettings } from '../../server/src/config.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.ts';
import { batch, connectDevice, fixtureClock, mealEvent, nextMessage, quietLogger, TEST_TOKEN, tempDir } from '../helpers/server-fixtures.ts';

describe('server /metrics', () => {
  let tmp: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let device: MqttClient;

  beforeAll(async () => {
    tmp = tempDir();
    server = await startServer(serverSettings({ dataDir: tmp.dir, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN, logLevel: 'silent' }), { logger: quietLogger, clock: fixtureClock });
    device = await connectDevice(server.mqttUrl, { clientId: 'edge-c1-d1' });
  });
  afterAll(async () => {
    await device?.endAsync();
    await server?.stop();
    tmp?.cleanup();
  });

  const scrapeMetrics = async () => {
    const res = await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await res.text());
  };

  it('needs the bearer token', async () => {
    expect((await fetch(`${server.httpUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
  });

  it('counts what the ingest handled: a batch of two meals, a re-send, a junk message', async () => {
    await device.subscribeAsync(topics.receipts('c1', 'd1'), { qos: 1 });
    const events = [mealEvent({ elderId: 'E1' }), mealEvent({ elderId: 'E2' })];
    const receipt = nextMessage(device, topics.receipts('c1', 'd1'));
    await device.publishAsync(topics.events('c1', 'd1'), JSON.stringify(batch(...events)), { qos: 1 });
    await receipt;
    const again = nextMessage(device, topics.receipts('c1', 'd1'));
    await device.publishAsync(topics.events('c1', 'd1'), JSON.stringify(batch(events[0]!)), { qos: 1 });
    await again;
    await device.publishAsync(topics.events('c1', 'd1'), 'not json at all', { qos: 1 });
    // The junk message has no answer to wait for: scrape until it is counted.
    let m = await scrapeMetrics();
    for (let i = 0; i < 100 && sampleValue(m.samples, 'mealcheck_server_messages_total', { outcome: 'dead-letter' }) !== 1; i++) {
      await new Promise((r) => setTimeout(r, 50));
      m = await scrapeMetrics();
    }
    const { samples, types } = m;
    expect(sampleValue(samples, 'mealcheck_server_messages_total', { outcome: 'dead-letter' })).toBe(1);
    expect(sampleValue(samples, 'mealcheck_server_messages_total', { outcome: 'ingested' })).toBe(2);
    expect(sampleValue(samples, 'mealcheck_server_events_total', { result: 'stored' })).toBe(2);
    expect(sampleValue(samples, 'mealcheck_server_events_total', { result: 'known' })).toBe(1);
    expect(types.get('mealcheck_server_events_total')).toBe('counter');
    expect(sampleValue(samples, 'mealcheck_server_mqtt_connected')).toBe(1);
    expect(sampleValue(samples, 'mealcheck_server_stored', { table: 'meals' })).toBe(2);
    expect(sampleValue(samples, 'mealcheck_server_dead_letters', { figure: 'rows' })).toBe(1);
    expect(sampleValue(samples, 'mealcheck_server_dead_letters', { figure: 'alarm' })).toBe(0);
    expect(sampleValue(samples, 'mealcheck_server_process_resident_memory_bytes')).toBeGreaterThan(0);
    // Counts only: no elder id in any label.
    for (const s of samples) for (const v of Object.values(s.labels)) expect(v).not.toMatch(/^E\d/);
  });
});
