import { describe, expect, it } from 'vitest';
import { OutageLog } from '../../edge/src/capture/camera-health.ts';
import { captureLogger } from '../helpers/edge-fixtures.ts';

describe('OutageLog', () => {
  it('logs a camera that stays down at 1, 2, 4 ... 60 s apart, not at every retry', () => {
    const { logger, lines } = captureLogger('info');
    let now = 1_000_000;
    const log = new OutageLog({ camera: 'door', source: '/dev/video9', logger, now: () => now });
    // Ten minutes of retries every half second (what a fast-retrying source does).
    const times: number[] = [];
    for (let t = 0; t <= 600_000; t += 500) {
      now = 1_000_000 + t;
      const before = lines.length;
      log.failed('cannot open /dev/video9: No such file or directory');
      if (lines.length > before) times.push(t / 1000);
    }
    expect(times).toEqual([0, 1, 3, 7, 15, 31, 63, 123, 183, 243, 303, 363, 423, 483, 543]);
    expect(lines[0]).toMatchObject({ msg: 'camera down', camera: 'door', source: '/dev/video9', reason: 'cannot open /dev/video9: No such file or directory' });
    expect(lines.slice(1).map((l) => l.nextReportAfterS)).toEqual([2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60, 60, 60, 60]);
    expect(lines.at(-1)).toMatchObject({ msg: 'camera still down, retrying', attempts: 1087, downForS: 543 });

    now += 500;
    log.up();
    expect(lines.at(-1)).toMatchObject({ msg: 'camera up again', camera: 'door', downForS: 601, attempts: 1201 });
    // A new outage starts from 1 s again.
    log.failed('ffmpeg exited with code 1');
    now += 1000;
    log.failed('ffmpeg exited with code 1');
    expect(lines.slice(-2).map((l) => [l.msg, l.nextReportAfterS])).toEqual([
      ['camera down', undefined],
      ['camera still down, retrying', 2],
    ]);
  });

  it('says nothing when up without an outage', () => {
    const { logger, lines } = captureLogger('info');
    new OutageLog({ camera: 'door', source: 'x', logger }).up();
    expect(lines).toEqual([]);
  });
});
