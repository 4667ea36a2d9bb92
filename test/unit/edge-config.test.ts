import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config.ts';
import { loadEdgeConfig } from '../../edge/src/config.ts';

const env = { MEALCHECK_CENTRE: 'c-001', MEALCHECK_DEVICE: 'door1' };

function problemsOf(argv: string[], e: NodeJS.ProcessEnv): string[] {
  try {
    loadEdgeConfig(argv, e);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadEdgeConfig', () => {
  it('fills defaults', () => {
    const c = loadEdgeConfig([], env);
    expect(c).toMatchObject({
      centreId: 'c-001',
      deviceId: 'door1',
      dataDir: './data/edge',
      mqtt: { url: 'mqtt://127.0.0.1:1883', protocolVersion: 5 },
      fps: 5,
      http: { host: '127.0.0.1', port: 8081 },
      meals: { timeZone: 'Asia/Shanghai' },
      model: 'fr-feature',
      // fr-feature's calibrated decision (models/manifest.json, scripts/eval/CALIBRATION.md).
      match: { threshold: 0.96, margin: 0.05, cohortRatio: 0.78, meanTemplates: true },
      lookalikeDistance: 0.9,
      backend: 'auto',
    });
    expect(c.dbFile).toMatch(/data[/\\]edge[/\\]edge\.db$/);
    expect(c.meals.windows.map((w) => w.meal)).toEqual(['breakfast', 'lunch', 'dinner']);
    expect(c.mqtt.username).toBeUndefined();
    expect(c.camera).toBeUndefined();
  });

  it('takes flags over env', () => {
    const c = loadEdgeConfig(
      ['--centre', 'c2', '--http-port=0', '--meal-windows', 'lunch=11:30-13:00', '--time-zone', 'UTC', '--backend', 'wasm', '--camera', '/tmp/frames', '--match-threshold', '0.5', '--mqtt-protocol', '4', '--outbox-alarm', '100'],
      { ...env, MEALCHECK_MQTT_USERNAME: 'edge', MEALCHECK_MQTT_PASSWORD: 'secret', MEALCHECK_EDGE_HTTP_PORT: '9000' },
    );
    expect(c.centreId).toBe('c2');
    expect(c.http.port).toBe(0);
    expect(c.meals).toEqual({ windows: [{ meal: 'lunch', start: 690, end: 780 }], timeZone: 'UTC' });
    expect(c.backend).toBe('wasm');
    expect(c.camera).toBe('/tmp/frames');
    expect(c.match.threshold).toBe(0.5);
    expect(c.mqtt).toEqual({ url: 'mqtt://127.0.0.1:1883', username: 'edge', password: 'secret', protocolVersion: 4, outboxAlarmThreshold: 100 });
  });

  it('--mqtt-ca names a readable PEM certificate file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mealcheck-ca-'));
    try {
      const pem = join(dir, 'ca.crt');
      writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\n');
      expect(loadEdgeConfig(['--mqtt-ca', pem], env).mqtt.caFile).toBe(pem);
      expect(loadEdgeConfig([], { ...env, MEALCHECK_MQTT_CA: pem }).mqtt.caFile).toBe(pem);
      expect(problemsOf(['--mqtt-ca', join(dir, 'missing.crt')], env)).toEqual([expect.stringMatching(/^--mqtt-ca: cannot read ".*missing\.crt": ENOENT/)]);
      expect(problemsOf(['--mqtt-ca', join(dir, 'key.pem')], env)).toEqual([expect.stringMatching(/holds no PEM certificate/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(
      ['--device', 'bad/id', '--fps', 'fast', '--http-port', '70000', '--meal-windows', 'lunch=13:00-11:00', '--time-zone', 'Mars/Olympus', '--backend', 'gpu', '--server', 'http://x', '--bogus', '1'],
      {},
    );
    const expected = [/unknown option --bogus/, /--centre \(or MEALCHECK_CENTRE\) is required/, /--fps: expected a number/, /--http-port: must be at most 65535/, /--backend: must be one of/, /--device: "bad\/id" is not a valid id/, /--meal-windows: lunch: 13:00-11:00 ends before it starts/, /--time-zone: "Mars\/Olympus"/, /--server: "http:\/\/x" is not an MQTT URL/];
    for (const re of expected) expect(problems.some((p) => re.test(p)), `${re} in\n${problems.join('\n')}`).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });

  it('reads --antispoof-threshold (default 0 = off) and keeps it within 0..1', () => {
    expect(loadEdgeConfig([], env).antispoofThreshold).toBe(0);
    expect(loadEdgeConfig(['--antispoof-threshold', '0.35'], env).antispoofThreshold).toBe(0.35);
    expect(loadEdgeConfig([], { ...env, MEALCHECK_ANTISPOOF_THRESHOLD: '0.6' }).antispoofThreshold).toBe(0.6);
    expect(problemsOf(['--antispoof-threshold', '1.5'], env)).toEqual([expect.stringMatching(/--antispoof-threshold: must be at most 1/)]);
    expect(problemsOf(['--antispoof-threshold', 'high'], env)).toEqual([expect.stringMatching(/--antispoof-threshold: expected a number/)]);
  });

  it('reads the kiosk settings: masked names and the Mandarin voice by default, off turns the voice off', () => {
    const d = loadEdgeConfig(['--data', '/var/lib/mealcheck'], env).kiosk;
    expect(d).toEqual({ name: 'masked', voice: 'cmn', speechRate: 140, volume: 100, showSeconds: 5, audioDir: join('/var/lib/mealcheck', 'kiosk-audio') });
    const c = loadEdgeConfig(['--kiosk-name', 'full', '--kiosk-voice', 'off', '--kiosk-volume', '150', '--kiosk-show-seconds', '8'], env).kiosk;
    expect(c).toMatchObject({ name: 'full', voice: null, volume: 150, showSeconds: 8 });
    expect(problemsOf(['--kiosk-name', 'initials', '--kiosk-voice', '-w /tmp/x', '--kiosk-volume', '300', '--kiosk-speech-rate', '10'], env)).toEqual([
      expect.stringMatching(/^--kiosk-name: must be one of masked, full, none/),
      expect.stringMatching(/^--kiosk-voice: expected an espeak-ng voice name/),
      expect.stringMatching(/^--kiosk-speech-rate: must be at least 80/),
      expect.stringMatching(/^--kiosk-volume: must be at most 200/),
    ]);
  });

  it('rejects an invalid centre id from the environment', () => {
    expect(problemsOf([], { ...env, MEALCHECK_CENTRE: '-c' })).toEqual([expect.stringMatching(/--centre: "-c" is not a valid id/)]);
  });
});
