/**
 * The kiosk's voice with the real espeak-ng (Debian package; .ci/run installs it): phrases
 * rendered to WAV once and cached under hashed names, a bounded cache, ids it never issued
 * refused, and a missing or broken engine reported once, never thrown.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KioskSpeech } from '../../edge/src/kiosk/kiosk-speech.ts';
import { captureLogger, edgeTempDir } from '../helpers/edge-fixtures.ts';

let tmp: ReturnType<typeof edgeTempDir>;
beforeAll(() => {
  if (spawnSync('espeak-ng', ['--version']).error) throw new Error('espeak-ng not found: apt-get install espeak-ng (the kiosk voice tests need the real engine)');
});
beforeEach(() => {
  tmp = edgeTempDir();
});
afterEach(() => tmp.cleanup());

/** espeak-ng behind a wrapper that counts its runs. */
function countingEspeak(): { command: string; runs: () => number } {
  const log = join(tmp.dir, 'runs.log');
  const command = join(tmp.dir, 'espeak-counting');
  writeFileSync(command, `#!/bin/sh\necho run >> '${log}'\nexec espeak-ng "$@"\n`);
  chmodSync(command, 0o755);
  return { command, runs: () => (statSync(log, { throwIfNoEntry: false }) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
}

describe('KioskSpeech', () => {
  it('renders a phrase once into a cached WAV under a hashed name, and serves it again from the cache, also after a restart', async () => {
    const { logger, lines } = captureLogger('debug');
    const espeak = countingEspeak();
    const cacheDir = join(tmp.dir, 'audio');
    const speech = new KioskSpeech({ voice: 'cmn', rate: 140, volume: 100, cacheDir, logger, command: espeak.command });
    speech.start();
    const id = speech.audioFor('王秀英 午餐签到成功')!;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const wav = (await speech.wav(id))!;
    expect(wav.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(wav.subarray(8, 12).toString('latin1')).toBe('WAVE');
    // The header's sizes are real (a file, not a stream of unknown length): browsers show a duration.
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.length).toBeGreaterThan(10_000);
    expect(readdirSync(cacheDir)).toEqual([`${id}.wav`]);
    expect(speech.audioFor('王秀英 午餐签到成功')).toBe(id);
    expect((await speech.wav(id))!.equals(wav)).toBe(true);
    expect(espeak.runs()).toBe(1);
    expect(speech.status()).toEqual({ engine: 'espeak-ng', voice: 'cmn', state: 'ready', cached: 1 });
    // No name in any log line.
    expect(JSON.stringify(lines)).not.toContain('王秀英');

    const again = new KioskSpeech({ voice: 'cmn', rate: 140, volume: 100, cacheDir, logger, command: espeak.command });
    again.start();
    expect((await again.wav(id))!.equals(wav)).toBe(true);
    expect(espeak.runs()).toBe(1);
    // Another speed is another rendering.
    const faster = new KioskSpeech({ voice: 'cmn', rate: 200, volume: 100, cacheDir, logger, command: espeak.command });
    faster.start();
    expect(faster.audioFor('王秀英 午餐签到成功')).not.toBe(id);
  });

  it('keeps at most maxFiles, dropping the least recently used', async () => {
    const cacheDir = join(tmp.dir, 'audio');
    const speech = new KioskSpeech({ voice: 'cmn', rate: 140, volume: 100, cacheDir, maxFiles: 2, logger: captureLogger().logger });
    speech.start();
    const [a, b, c] = ['早餐签到成功', '午餐签到成功', '晚餐签到成功'].map((t) => speech.audioFor(t)!);
    await speech.wav(a!);
    await speech.wav(b!);
    await speech.wav(a!); // a used again: b is now the oldest
    await speech.wav(c!);
    expect(readdirSync(cacheDir).sort()).toEqual([`${a}.wav`, `${c}.wav`].sort());
    expect(speech.status().cached).toBe(2);
  });

  it('never renders an id it did not issue, nor anything without a voice', async () => {
    const speech = new KioskSpeech({ voice: 'cmn', rate: 140, volume: 100, cacheDir: join(tmp.dir, 'audio'), logger: captureLogger().logger });
    speech.start();
    expect(await speech.wav('0'.repeat(32))).toBeUndefined();
    expect(await speech.wav('../../etc/passwd')).toBeUndefined();
    const off = new KioskSpeech({ voice: null, rate: 140, volume: 100, cacheDir: join(tmp.dir, 'off'), logger: captureLogger().logger });
    off.start();
    expect(off.audioFor('请联系工作人员')).toBeUndefined();
    expect(off.status()).toEqual({ engine: 'espeak-ng', voice: null, state: 'off', cached: 0 });
  });

  it('a missing espeak-ng is reported once in the status and the log, and the voice turns off', async () => {
    const { logger, lines } = captureLogger();
    const speech = new KioskSpeech({ voice: 'cmn', rate: 140, volume: 100, cacheDir: join(tmp.dir, 'audio'), logger, command: join(tmp.dir, 'no-such-espeak') });
    speech.start();
    await speech.warm(['请联系工作人员', '本餐已签到']);
    const s = speech.status();
    expect(s.state).toBe('missing');
    expect(s.error).toMatch(/is not installed \(apt-get install espeak-ng\); the kiosk shows text only/);
    expect(speech.audioFor('午餐签到成功')).toBeUndefined();
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
  });

  it('a voice espeak-ng does not have is reported as such', async () => {
    const { logger } = captureLogger();
    const speech = new KioskSpeech({ voice: 'no-such-voice', rate: 140, volume: 100, cacheDir: join(tmp.dir, 'audio'), logger });
    speech.start();
    await speech.warm(['请联系工作人员']);
    expect(speech.audioFor('请联系工作人员')).toBeUndefined();
    expect(speech.status()).toMatchObject({ state: 'failed', error: expect.stringMatching(/has no voice "no-such-voice"/) });
  });
});
