import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeSettings } from '../../common/config.ts';
import { connectHost } from '../../server/src/broker.ts';
import { readServerSettings, serverSettingsSpec } from '../../server/src/config.ts';
import { redactUrl } from '../../common/logger.ts';

describe('server settings', () => {
  it('--mqtt-ca: a readable PEM certificate file, for an external broker only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mealcheck-server-ca-'));
    const problems = (argv: string[]) => {
      try {
        readServerSettings(argv, {});
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    try {
      const pem = join(dir, 'ca.crt');
      writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\n');
      const url = 'mqtts://broker.example.org:8883';
      expect(readServerSettings(['--mqtt-url', url, '--mqtt-ca', pem], {}).mqttCa).toBe(pem);
      expect(readServerSettings(['--mqtt-url', url], { MEALCHECK_MQTT_CA: pem }).mqttCa).toBe(pem);
      expect(problems(['--mqtt-url', url, '--mqtt-ca', join(dir, 'missing.crt')])).toEqual([expect.stringMatching(/^--mqtt-ca: cannot read ".*missing\.crt": ENOENT/)]);
      expect(problems(['--mqtt-url', url, '--mqtt-ca', join(dir, 'key.pem')])).toEqual([expect.stringMatching(/holds no PEM certificate/)]);
      expect(problems(['--mqtt-ca', pem])).toEqual([expect.stringMatching(/only for an external broker/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has safe defaults', () => {
    expect(readServerSettings([], {})).toEqual({
      dataDir: './data/server',
      httpHost: '127.0.0.1',
      httpPort: 8080,
      mqttHost: '127.0.0.1',
      mqttPort: 1883,
      mqttUrl: undefined,
      mqttCa: undefined,
      mqttProtocolVersion: undefined,
      mqttClientId: 'mealcheck-server',
      adminToken: undefined,
      logLevel: 'info',
      sessionIdleHours: 12,
      sessionMaxDays: 7,
      secureCookies: false,
      boxOfflineMinutes: 15,
      silentGraceMinutes: 30,
      welfareMinMeals: 8,
      welfareAbsentDays: 3,
    });
  });

  it('reads the statistics settings from flags and env, and refuses nonsense', () => {
    expect(readServerSettings(['--welfare-min-meals', '12', '--box-offline-minutes=5'], { MEALCHECK_WELFARE_ABSENT_DAYS: '7', MEALCHECK_SILENT_GRACE_MINUTES: '0' })).toMatchObject({
      welfareMinMeals: 12,
      welfareAbsentDays: 7,
      boxOfflineMinutes: 5,
      silentGraceMinutes: 0,
    });
    expect(() => readServerSettings(['--welfare-min-meals', '0', '--welfare-absent-days', '30'], {})).toThrow(ConfigError);
  });

  it('reads flags over env', () => {
    const s = readServerSettings(['--http-port', '0', '--mqtt-url=mqtt://broker:1883'], { MEALCHECK_HTTP_PORT: '9000', MEALCHECK_ADMIN_TOKEN: 'abc', MEALCHECK_DATA: '/srv/mc' });
    expect(s).toMatchObject({ httpPort: 0, mqttUrl: 'mqtt://broker:1883', adminToken: 'abc', dataDir: '/srv/mc' });
  });

  it('reports every problem at once', () => {
    try {
      readServerSettings(['--http-port', '70000', '--mqtt-protocol', '3', '--log-level', 'loud', '--nope'], {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(4);
    }
  });

  it('documents every setting', () => {
    const help = describeSettings(serverSettingsSpec);
    for (const s of Object.values(serverSettingsSpec)) expect(help).toContain(s.env);
  });
});

describe('helpers', () => {
  it.each([
    ['mqtt://user:secret@broker:1883', 'mqtt://user:***@broker:1883'],
    ['mqtts://broker:8883', 'mqtts://broker:8883'],
  ])('redactUrl(%s)', (url, expected) => expect(redactUrl(url)).toBe(expected));

  it.each([
    ['0.0.0.0', '127.0.0.1'],
    ['::', '[::1]'],
    ['192.168.1.5', '192.168.1.5'],
    ['fe80::1', '[fe80::1]'],
  ])('connectHost(%s)', (host, expected) => expect(connectHost(host)).toBe(expected));
});
