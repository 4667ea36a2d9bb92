import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED } from '../../common/logger.ts';

function capture(): { lines(): Array<Record<string, unknown>>; text(): string; stream: Writable } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => out, lines: () => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('every logger redacts secrets', () => {
  it.each([
    ['a password', { password: 'hunter2-secret' }],
    ['a nested password', { mqtt: { password: 'hunter2-secret' } }],
    ['an error carrying its options', { err: { options: { password: 'hunter2-secret' } } }],
    ['a token', { token: 'hunter2-secret' }],
    ['the admin token', { settings: { adminToken: 'hunter2-secret' } }],
    ['a request authorization header', { req: { headers: { authorization: 'Bearer hunter2-secret' } } }],
    ['a cookie', { req: { headers: { cookie: 'sid=hunter2-secret' } } }],
    ['a set-cookie header', { res: { headers: { 'set-cookie': 'sid=hunter2-secret' } } }],
    ['a password in a URL', { url: 'mqtt://c1%2Fd1:hunter2-secret@broker:1883' }],
    ['a password in a nested URL', { mqtt: { url: 'mqtts://u:hunter2-secret@broker:8883/' } }],
  ])('%s', (_name, fields) => {
    const out = capture();
    createLogger('t', 'info', out.stream).info(fields, 'something happened');
    expect(out.text()).not.toContain('hunter2-secret');
    expect(out.lines()[0]!.msg).toBe('something happened');
  });

  it('keeps what is not secret: the rest of a URL, other headers', () => {
    const out = capture();
    createLogger('t', 'info', out.stream).info({ url: 'mqtt://user:pw-secret@broker.example.org:1883', req: { headers: { host: 'box', authorization: 'Basic x' } } }, 'x');
    const line = out.lines()[0]!;
    expect(line.url).toBe('mqtt://user:***@broker.example.org:1883');
    expect(line.req).toEqual({ headers: { host: 'box', authorization: REDACTED } });
  });
});
