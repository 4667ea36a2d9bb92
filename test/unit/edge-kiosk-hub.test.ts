import { describe, expect, it } from 'vitest';
import { parseMealWindows } from '../../common/meal-windows.ts';
import type { CheckIn, CheckInResult } from '../../edge/src/meals/check-in.ts';
import { kioskMessageParts } from '../../edge/src/meals/kiosk-message.ts';
import { KIOSK_PHRASES, KioskHub, REPLAY_MS, windowState, type KioskStreamMessage } from '../../edge/src/kiosk/kiosk-hub.ts';
import { kioskName, maskName, spokenName } from '../../edge/src/kiosk/name-mask.ts';
import type { CheckInEvent, UnknownEvent } from '../../edge/src/recognition/pipeline.ts';
import { TestClock } from '../helpers/edge-fixtures.ts';

const windows = parseMealWindows('breakfast=06:00-09:00,lunch=11:00-13:30,dinner=17:30-19:30');
const checkIn: CheckIn = { eventId: 'e', elderId: 'E1', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: '2025-03-10T03:00:00.000Z', method: 'face' };
const frame = { seq: 3, at: 1 };

function checkInEvent(result: CheckInResult, cameraId = 'door'): CheckInEvent {
  return { cameraId, trackId: 1, elderId: 'E1', distance: 0.21, agreeing: 2, votes: 2, antispoof: 0.9, result, frame };
}
const unknownEvent: UnknownEvent = { cameraId: 'door', trackId: 2, reason: 'above-threshold', bestElderId: 'E1', distance: 0.7, votes: 5, frame };

describe('maskName', () => {
  it.each([
    ['王秀英', '王*英'],
    ['李四', '李*'],
    ['欧阳秀英', '欧**英'],
    ['王', '王'],
    [' 王秀英 ', '王*英'],
    ['', ''],
    ['𠀋秀英', '𠀋*英'],
  ])('%s → %s', (name, masked) => expect(maskName(name)).toBe(masked));

  it('shows and says the name as the mode allows', () => {
    expect([kioskName('王秀英', 'masked'), kioskName('王秀英', 'full'), kioskName('王秀英', 'none')]).toEqual(['王*英', '王秀英', undefined]);
    // A masked name is never spoken (it cannot be, and the whole name would undo the mask).
    expect([spokenName('王秀英', 'masked'), spokenName('王秀英', 'full'), spokenName('王秀英', 'none')]).toEqual([undefined, '王秀英', undefined]);
    expect(kioskName(undefined, 'full')).toBeUndefined();
  });
});

describe('windowState', () => {
  const at = (local: string) => new Date(`2025-03-10T${local}:00+08:00`);
  it.each([
    ['05:00', null, { meal: 'breakfast', start: '06:00', end: '09:00', tomorrow: false }],
    ['06:00', 'breakfast', { meal: 'lunch', start: '11:00', end: '13:30', tomorrow: false }],
    ['13:29', 'lunch', { meal: 'dinner', start: '17:30', end: '19:30', tomorrow: false }],
    ['13:30', null, { meal: 'dinner', start: '17:30', end: '19:30', tomorrow: false }],
    ['20:00', null, { meal: 'breakfast', start: '06:00', end: '09:00', tomorrow: true }],
  ])('at %s: current %s, next %j', (local, current, next) => {
    const s = windowState(at(local), windows, 'Asia/Shanghai');
    expect(s.current?.meal ?? null).toBe(current);
    expect(s.next).toMatchObject(next);
  });
  it('names the meals in Chinese', () => {
    expect(windowState(at('12:00'), windows, 'Asia/Shanghai').current).toEqual({ meal: 'lunch', name: '午餐', start: '11:00', end: '13:30' });
  });
});

describe('KioskHub', () => {
  const clock = new TestClock('2025-03-10T04:00:00.000Z');
  const hub = (o: Partial<ConstructorParameters<typeof KioskHub>[0]> = {}) => new KioskHub({ clock, windows, timeZone: 'Asia/Shanghai', nameMode: 'masked', runId: 'r1', ...o });

  it('turns a check-in into what the door shows: masked name, message, audio id, and nothing else', () => {
    const said: string[] = [];
    const h = hub({ speech: { audioFor: (t) => (said.push(t), 'a'.repeat(32)) } });
    const got: KioskStreamMessage[] = [];
    h.subscribe((m) => got.push(m));
    const d = h.checkIn(checkInEvent({ status: 'recorded', checkIn }));
    expect(d).toMatchObject({ type: 'decision', id: 'r1-1', camera: 'door', tone: 'ok', name: '王*英', message: '午餐签到成功', speech: '午餐签到成功', audio: `/kiosk/audio/${'a'.repeat(32)}.wav` });
    expect(Object.keys(d).sort()).toEqual(['audio', 'camera', 'decidedAt', 'id', 'message', 'name', 'speech', 'tone', 'type']);
    expect(got).toEqual([d]);
    // Nothing biometric or identifying beyond the masked name.
    const wire = JSON.stringify(got);
    for (const leak of ['E1', '王秀英', '0.21', 'distance', 'antispoof', 'elderId']) expect(wire).not.toContain(leak);
    expect(said).toEqual(['午餐签到成功']);
    expect(Math.abs(d.decidedAt - Date.now())).toBeLessThan(1000);
  });

  it('under full, shows and says the whole name; under none, neither', () => {
    expect(hub({ nameMode: 'full' }).checkIn(checkInEvent({ status: 'already-checked-in', checkIn }))).toMatchObject({ name: '王秀英', message: '本餐已签到', speech: '王秀英 本餐已签到' });
    const none = hub({ nameMode: 'none' }).checkIn(checkInEvent({ status: 'recorded', checkIn }));
    expect(none.name).toBeUndefined();
    expect(none.speech).toBe('午餐签到成功');
  });

  it('an unknown face gets 请联系工作人员, without the nearest elder; no audio without a voice', () => {
    const d = hub().unknown(unknownEvent);
    expect(d).toMatchObject({ tone: 'error', message: '请联系工作人员', speech: '请联系工作人员' });
    expect(d.audio).toBeUndefined();
    expect(JSON.stringify(d)).not.toContain('E1');
  });

  it('passes on 请稍候 and tells a page that connects which cameras are deciding', () => {
    const h = hub();
    const got: KioskStreamMessage[] = [];
    h.subscribe((m) => got.push(m));
    h.deciding({ cameraId: 'door', deciding: true, frame });
    expect(got).toEqual([{ type: 'deciding', camera: 'door', deciding: true }]);
    expect(h.decidingCameras()).toEqual(['door']);
    h.deciding({ cameraId: 'door', deciding: false, frame });
    expect(h.decidingCameras()).toEqual([]);
  });

  it('replays to a page that reconnects only the decisions after its last id, of this run, still on screen', () => {
    const h = hub();
    const a = h.checkIn(checkInEvent({ status: 'recorded', checkIn }));
    const b = h.unknown(unknownEvent);
    expect(h.since(a.id)).toEqual([b]);
    expect(h.since(b.id)).toEqual([]);
    expect(h.since(undefined)).toEqual([]);
    expect(h.since('other-1')).toEqual([]);
    expect(h.since('r1-x')).toEqual([]);
    b.decidedAt -= REPLAY_MS + 1;
    expect(h.since(a.id)).toEqual([]);
  });

  it('drops a listener that throws and keeps serving the others', () => {
    const h = hub();
    const got: KioskStreamMessage[] = [];
    h.subscribe(() => {
      throw new Error('socket gone');
    });
    h.subscribe((m) => got.push(m));
    h.unknown(unknownEvent);
    h.unknown(unknownEvent);
    expect(got).toHaveLength(2);
    expect(h.clients).toBe(1);
  });

  it('ticks with the edge clock and the window state', () => {
    expect(hub().tick()).toMatchObject({ type: 'tick', now: Date.parse('2025-03-10T04:00:00.000Z'), current: { meal: 'lunch' }, next: { meal: 'dinner' } });
  });

  it('KIOSK_PHRASES holds every message that names nobody, so all of them are rendered at start', () => {
    const results: CheckInResult[] = [
      { status: 'recorded', checkIn },
      { status: 'recorded', checkIn: { ...checkIn, meal: 'breakfast' } },
      { status: 'recorded', checkIn: { ...checkIn, meal: 'dinner' } },
      { status: 'recorded', checkIn: { ...checkIn, provisional: true } as CheckIn },
      { status: 'already-checked-in', checkIn },
      { status: 'outside-meal-window' },
      { status: 'unknown-elder', elderId: 'x' },
      { status: 'not-recorded', reason: 'x' },
      { status: 'pending-confirmation', confirmation: { id: 'c', elderId: 'E1', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: checkIn.at, method: 'face', status: 'pending' } },
    ];
    for (const r of results) expect(KIOSK_PHRASES).toContain(kioskMessageParts(r).message);
  });
});
