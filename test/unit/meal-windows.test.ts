import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MEAL_WINDOWS,
  formatMealWindows,
  isValidTimeZone,
  localTime,
  MealWindowError,
  mealAt,
  parseMealWindows,
  serviceDateOf,
} from '../../common/meal-windows.ts';

const windows = parseMealWindows(DEFAULT_MEAL_WINDOWS);

describe('parseMealWindows', () => {
  it('parses the default and sorts by start', () => {
    expect(windows).toEqual([
      { meal: 'breakfast', start: 360, end: 540 },
      { meal: 'lunch', start: 660, end: 810 },
      { meal: 'dinner', start: 1050, end: 1170 },
    ]);
    expect(formatMealWindows(parseMealWindows('dinner=17:30-19:30, lunch = 11:00 - 13:30'))).toBe('lunch=11:00-13:30,dinner=17:30-19:30');
  });

  it.each([
    ['', /no meal windows/],
    ['lunch', /not meal=HH:MM-HH:MM/],
    ['lunch=11:00', /not meal=HH:MM-HH:MM/],
    ['supper=18:00-19:00', /"supper" is not a meal/],
    ['lunch=24:00-24:00', /"24:00" is not a 24-hour time/],
    ['lunch=11:00-24:01', /"24:01" is not a 24-hour time/],
    ['lunch=9:00-13:00', /"9:00" is not a 24-hour time/],
    ['lunch=11:60-13:00', /"11:60" is not a 24-hour time/],
    ['lunch=13:00-11:00', /ends before it starts/],
    ['lunch=11:00-11:00', /ends before it starts/],
    ['dinner=22:00-01:00', /may not cross midnight/],
    ['lunch=11:00-13:00,lunch=12:00-14:00', /lunch is given twice/],
    ['breakfast=06:00-11:30,lunch=11:00-13:30', /breakfast \(06:00-11:30\) overlaps lunch \(11:00-13:30\)/],
  ])('rejects %j', (spec, message) => {
    expect(() => parseMealWindows(spec)).toThrow(MealWindowError);
    expect(() => parseMealWindows(spec)).toThrow(message);
  });

  it('reports every problem at once', () => {
    try {
      parseMealWindows('supper=18:00-19:00,lunch=13:00-11:00,breakfast=6-9');
      expect.unreachable();
    } catch (err) {
      expect((err as MealWindowError).problems).toHaveLength(3);
    }
  });

  it('accepts 24:00 as an end: a window may run to midnight', () => {
    const late = parseMealWindows('dinner=17:30-24:00');
    expect(late).toEqual([{ meal: 'dinner', start: 1050, end: 1440 }]);
    expect(mealAt(new Date('2025-03-10T15:59:59Z'), late, 'Asia/Shanghai')).toEqual({ serviceDate: '2025-03-10', meal: 'dinner' });
    expect(mealAt(new Date('2025-03-10T16:00:00Z'), late, 'Asia/Shanghai')).toBeNull();
  });

  it('accepts adjacent windows (end is exclusive)', () => {
    expect(parseMealWindows('breakfast=06:00-11:00,lunch=11:00-13:00')).toHaveLength(2);
  });
});

describe('mealAt', () => {
  it.each([
    // Asia/Shanghai is UTC+8 all year (no DST).
    ['2025-03-10T03:00:00Z', 'Asia/Shanghai', { serviceDate: '2025-03-10', meal: 'lunch' }],
    ['2025-03-10T02:59:59Z', 'Asia/Shanghai', null],
    ['2025-03-10T05:29:59Z', 'Asia/Shanghai', { serviceDate: '2025-03-10', meal: 'lunch' }],
    ['2025-03-10T05:30:00Z', 'Asia/Shanghai', null],
    // 06:00 local on the 10th is still the 9th in UTC: the service date is the local one.
    ['2025-03-09T22:00:00Z', 'Asia/Shanghai', { serviceDate: '2025-03-10', meal: 'breakfast' }],
    ['2025-03-09T21:59:59Z', 'Asia/Shanghai', null],
    ['2025-03-10T11:29:59Z', 'Asia/Shanghai', { serviceDate: '2025-03-10', meal: 'dinner' }],
    ['2025-03-10T11:30:00Z', 'Asia/Shanghai', null],
    ['2025-12-31T22:30:00Z', 'Asia/Shanghai', { serviceDate: '2026-01-01', meal: 'breakfast' }],
    ['2025-07-01T04:00:00Z', 'Asia/Shanghai', { serviceDate: '2025-07-01', meal: 'lunch' }],
    ['2025-01-15T04:00:00Z', 'Asia/Shanghai', { serviceDate: '2025-01-15', meal: 'lunch' }],
    ['2024-02-29T10:00:00Z', 'Asia/Shanghai', { serviceDate: '2024-02-29', meal: 'dinner' }],
    // Other zones without DST, including a half-hour offset.
    ['2025-03-10T11:00:00Z', 'UTC', { serviceDate: '2025-03-10', meal: 'lunch' }],
    ['2025-03-10T05:30:00Z', 'Asia/Kolkata', { serviceDate: '2025-03-10', meal: 'lunch' }],
    ['2025-03-10T05:29:00Z', 'Asia/Kolkata', null],
    ['2025-03-10T02:00:00Z', 'Asia/Urumqi', { serviceDate: '2025-03-10', meal: 'breakfast' }],
    // A DST zone: 11:00 local is 16:00Z before the change (EST) and 15:00Z after it (EDT).
    ['2025-03-08T16:00:00Z', 'America/New_York', { serviceDate: '2025-03-08', meal: 'lunch' }],
    ['2025-03-08T15:00:00Z', 'America/New_York', null],
    ['2025-03-10T15:00:00Z', 'America/New_York', { serviceDate: '2025-03-10', meal: 'lunch' }],
  ] as const)('%s in %s', (iso, zone, expected) => {
    expect(mealAt(new Date(iso), windows, zone)).toEqual(expected);
  });

  it('defaults to Asia/Shanghai', () => {
    expect(mealAt(new Date('2025-03-10T03:00:00Z'), windows)).toEqual({ serviceDate: '2025-03-10', meal: 'lunch' });
  });

  it('gives the local service date', () => {
    expect(serviceDateOf(new Date('2025-03-09T16:00:00Z'), 'Asia/Shanghai')).toBe('2025-03-10');
    expect(serviceDateOf(new Date('2025-03-09T15:59:59Z'), 'Asia/Shanghai')).toBe('2025-03-09');
  });

  it('knows IANA zones', () => {
    expect(isValidTimeZone('Asia/Shanghai')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('localTime', () => {
  it.each([
    // Asked in this order: each answer is of its own minute, never the one asked just before.
    ['2026-03-09T15:59:59.999Z', 'Asia/Shanghai', '2026-03-09', 23 * 60 + 59],
    ['2026-03-09T16:00:00.000Z', 'Asia/Shanghai', '2026-03-10', 0],
    ['2026-03-09T16:00:59.999Z', 'Asia/Shanghai', '2026-03-10', 0],
    ['2026-03-09T16:01:00.000Z', 'Asia/Shanghai', '2026-03-10', 1],
    ['2026-03-09T16:01:00.000Z', 'Asia/Kolkata', '2026-03-09', 21 * 60 + 31],
    ['2026-03-09T16:01:00.000Z', 'Asia/Shanghai', '2026-03-10', 1],
    // London's clocks go forward at 01:00 UTC on 2026-03-29.
    ['2026-03-29T00:59:00.000Z', 'Europe/London', '2026-03-29', 59],
    ['2026-03-29T01:00:00.000Z', 'Europe/London', '2026-03-29', 2 * 60],
  ])('%s in %s is %s, minute %i', (iso, tz, date, minutes) => {
    expect(localTime(new Date(iso), tz)).toEqual({ date, minutes });
  });
});
