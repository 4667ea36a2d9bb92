import { describe, expect, it } from 'vitest';
import { TemplateWatcher } from '../../edge/src/elders/template-watcher.ts';
import { captureLogger } from '../helpers/edge-fixtures.ts';

function watcher(versions: Array<string | Error>, onChange: () => void = () => {}) {
  const { logger, lines } = captureLogger('info');
  let i = 0;
  const version = () => {
    const v = versions[Math.min(i++, versions.length - 1)]!;
    if (v instanceof Error) throw v;
    return v;
  };
  return { w: new TemplateWatcher({ version, onChange, logger, intervalMs: 60_000 }), lines };
}

describe('TemplateWatcher', () => {
  it('reloads once per change of version', () => {
    let reloads = 0;
    const { w } = watcher(['1:1', '1:1', '2:2', '2:2', '1:1'], () => reloads++);
    w.start();
    try {
      expect([w.check(), w.check(), w.check(), w.check()]).toEqual([false, true, false, true]);
      expect(reloads).toBe(2);
    } finally {
      w.stop();
    }
  });

  it('starts from the version the gallery was loaded at, so a write just before start() is reloaded', () => {
    let reloads = 0;
    const { w } = watcher(['2:2'], () => reloads++);
    w.start('1:1');
    w.stop();
    expect(w.check()).toBe(true);
    expect(reloads).toBe(1);
  });

  it('logs a failing poll or reload once, keeps polling, and retries the reload until it works', () => {
    let fail = true;
    let reloads = 0;
    const { w, lines } = watcher(['1:1', new Error('database is locked'), new Error('database is locked'), '2:2'], () => {
      if (fail) throw new Error('disk I/O error');
      reloads++;
    });
    w.start();
    expect(w.check()).toBe(false);
    expect(w.check()).toBe(false);
    expect(w.check()).toBe(false); // the version moved, the reload failed
    fail = false;
    expect(w.check()).toBe(true); // still not loaded: tried again
    expect(reloads).toBe(1);
    expect(lines.map((l) => l.msg)).toEqual(['cannot check or reload the templates; the door keeps the current ones and retries', 'template reload works again']);
    expect(lines[0]).toMatchObject({ err: 'database is locked' });
  });
});
