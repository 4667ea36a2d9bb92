/**
 * Boxes managed from the server's API (issue 14, item 1), on a real server with its embedded
 * broker: the admin registers a box and gets its MQTT login once, the broker takes that login at
 * once, a new password replaces the old one, removing the box takes its login away; each audited.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { serverSettings } from '../../server/src/config.ts';
import { startServer, type RunningServer } from '../../server/src/server.ts';
import { edgeTempDir } from '../helpers/edge-fixtures.ts';
import { quietLogger, TEST_TOKEN } from '../helpers/server-fixtures.ts';

const auth = { authorization: `Bearer ${TEST_TOKEN}` };

async function canLogIn(server: RunningServer, username: string, password: string): Promise<boolean> {
  const client = mqtt.connect(server.mqttUrl, { username, password, clientId: `edge-${username.replace('/', '-')}`, reconnectPeriod: 0, connectTimeout: 5000 });
  return new Promise((resolve) => {
    client.once('connect', () => {
      client.end(true);
      resolve(true);
    });
    client.once('error', () => {
      client.end(true);
      resolve(false);
    });
  });
}

describe('devices from the API', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanups.reverse()) await f();
    cleanups.length = 0;
  });

  it('registers a box with a login the broker takes at once, replaces its password, and removes it; audited', async () => {
    const tmp = edgeTempDir();
    cleanups.push(() => tmp.cleanup());
    const server = await startServer(serverSettings({ dataDir: tmp.dir, httpPort: 0, mqttPort: 0, adminToken: TEST_TOKEN }), { logger: quietLogger });
    cleanups.push(() => server.stop());

    const add = () => server.app.inject({ method: 'POST', url: '/api/v1/devices', headers: auth, payload: { centreId: 'c-101', deviceId: 'door-1' } });
    const first = await add();
    expect(first.statusCode).toBe(201);
    const login = first.json<{ username: string; password: string; replaced: boolean }>();
    expect(login).toMatchObject({ username: 'c-101/door-1', replaced: false });
    expect(await canLogIn(server, login.username, login.password)).toBe(true);
    expect(await canLogIn(server, login.username, 'not-the-password')).toBe(false);
    const listed = await server.app.inject({ url: '/api/v1/devices', headers: auth });
    expect(listed.json()).toMatchObject({ devices: [{ centreId: 'c-101', deviceId: 'door-1', registered: true }] });
    expect(listed.body).not.toContain(login.password);

    const second = (await add()).json<{ password: string; replaced: boolean }>();
    expect(second.replaced).toBe(true);
    expect(await canLogIn(server, login.username, login.password)).toBe(false);
    expect(await canLogIn(server, login.username, second.password)).toBe(true);

    expect((await server.app.inject({ method: 'DELETE', url: '/api/v1/devices/c-101/door-1', headers: auth })).json()).toEqual({ centreId: 'c-101', deviceId: 'door-1', removed: true });
    expect(await canLogIn(server, login.username, second.password)).toBe(false);
    const again = await server.app.inject({ method: 'DELETE', url: '/api/v1/devices/c-101/door-1', headers: auth });
    expect(again.statusCode).toBe(404);
    expect(again.json<{ message: string }>().message).toContain('c-101/door-1 is not registered');

    const bad = await server.app.inject({ method: 'POST', url: '/api/v1/devices', headers: auth, payload: { centreId: 'c 101', deviceId: 'door-1' } });
    expect(bad.statusCode).toBe(400);
    const audit = await server.app.inject({ url: '/api/v1/audit', headers: auth });
    const actions = audit.json<{ entries: Array<{ action: string; subject: string }> }>().entries.filter((e) => e.action.startsWith('device-'));
    expect(actions.map((e) => `${e.action} ${e.subject}`)).toEqual(['device-remove c-101/door-1', 'device-add c-101/door-1', 'device-add c-101/door-1']);
    // The audit never holds the password.
    expect(audit.body).not.toContain(second.password);
  });
});
