import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderFrameSource } from '../../edge/src/capture/folder-source.ts';
import { RetryingSource } from '../../edge/src/capture/retrying-source.ts';
import { captureLogger, edgeTempDir } from '../helpers/edge-fixtures.ts';

describe('RetryingSource over a folder camera', () => {
  let tmp: ReturnType<typeof edgeTempDir>;
  beforeEach(() => (tmp = edgeTempDir()));
  afterEach(() => tmp.cleanup());

  it('is down while the folder is missing, up when it appears, down again when it goes, and never throws', async () => {
    const dir = join(tmp.dir, 'frames');
    const { logger, lines } = captureLogger('info');
    const src = new RetryingSource(new FolderFrameSource({ dir, id: 'door', realtime: false, loop: true }), { retryDelayMs: 10, maxRetryDelayMs: 20, logger });
    await src.start();
    expect(src.health()).toMatchObject({ id: 'door', kind: 'folder', state: 'down', error: expect.stringContaining('ENOENT') as string });
    const pending = src.next();

    mkdirSync(dir);
    writeFileSync(join(dir, 'a.jpg'), 'a');
    writeFileSync(join(dir, 'b.jpg'), 'b');
    expect((await pending)?.label).toBe('a.jpg');
    expect(src.health()).toMatchObject({ state: 'running' });
    expect(src.health().restarts).toBeGreaterThan(0);

    // Unmounted mid-run: the next read fails, the source is down, not broken.
    rmSync(dir, { recursive: true });
    const later = src.next();
    await new Promise((r) => setTimeout(r, 50));
    expect(src.health()).toMatchObject({ state: 'down', error: expect.stringContaining('cannot be read') as string });
    mkdirSync(dir);
    writeFileSync(join(dir, 'c.jpg'), 'c');
    expect((await later)?.label).toBe('c.jpg');

    await src.stop();
    expect(await src.next()).toBeNull();
    expect(src.health().state).toBe('stopped');
    expect(lines.filter((l) => l.msg === 'camera down')).toHaveLength(2);
    expect(lines.filter((l) => l.msg === 'camera up again')).toHaveLength(2);
  });

  it('stops while down without waiting for the folder', async () => {
    const src = new RetryingSource(new FolderFrameSource({ dir: join(tmp.dir, 'never') }), { retryDelayMs: 10 });
    await src.start();
    const pending = src.next();
    await src.stop();
    expect(await pending).toBeNull();
  });
});
