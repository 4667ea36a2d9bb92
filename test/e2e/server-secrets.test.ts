/**
 * Secrets stay out of logs: `mealcheck server` as an operator starts it prints a generated admin
 * token once on the terminal (stdout), and its JSON log (stderr, at trace level so everything
 * that is ever logged is) holds neither the token nor an MQTT password given in a URL.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMealcheck, type Running } from '../helpers/processes.ts';

describe('mealcheck server keeps secrets out of its log', () => {
  let dir: string;
  let running: Running[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mealcheck-secrets-'));
    running = [];
  });
  afterEach(async () => {
    for (const r of running) await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a generated admin token once to the terminal and never logs it, nor the Authorization header', async () => {
    const server = runMealcheck(['server', '--data', dir, '--http-port', '0', '--mqtt-port', '0', '--log-level', 'trace']);
    running.push(server);
    const [, httpUrl] = await server.waitFor(/HTTP (http:\/\/\S+), MQTT/);
    const [, printed] = await server.waitFor(/admin token \(generated, stored in [^)]+\): (\S+)/);
    const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
    expect(printed).toBe(token);

    const ok = await fetch(`${httpUrl}/api/v1/stats/meals?from=2026-01-01&to=2026-01-31`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    const wrong = await fetch(`${httpUrl}/api/v1/stats/meals?from=2026-01-01&to=2026-01-31`, { headers: { authorization: `Bearer ${token.slice(0, -4)}abcd` } });
    expect(wrong.status).toBe(401);
    expect(await server.stop()).toBe(0);

    // Once on the terminal, nowhere in the log.
    expect(server.stdout().split(token).length - 1).toBe(1);
    expect(server.stderr()).toContain('generated an admin token');
    expect(server.stderr()).toContain('incoming request'); // trace level: requests were logged
    expect(server.stderr()).not.toContain(token);
    expect(server.stderr()).not.toContain(token.slice(0, -4));
  }, 60_000);

  it('logs an external broker URL without its password', async () => {
    const secret = 'broker-pw-1f2e3d4c5b6a';
    const server = runMealcheck(['server', '--data', dir, '--http-port', '0', '--mqtt-url', `mqtt://ingest:${secret}@127.0.0.1:1`, '--admin-token', 'a-configured-token-0123456789', '--log-level', 'trace']);
    running.push(server);
    await server.waitFor(/HTTP (http:\/\/\S+), MQTT/, 30_000);
    expect(await server.stop()).toBe(0);
    expect(server.stderr()).toContain('mqtt://ingest:***@127.0.0.1:1');
    expect(server.stdout() + server.stderr()).not.toContain(secret);
    expect(server.stdout() + server.stderr()).not.toContain('a-configured-token-0123456789');
  }, 60_000);
});
