/**
 * Centre health and the welfare list, from what the server already knows: the boxes' retained
 * status and last contact (devices), each centre's time zone and meal windows (centres), and
 * counted meals (activity-repository.ts). Time comes from the caller (the injected clock); each
 * centre's "today" and "now" are local to its own zone.
 */
import { DEFAULT_TIME_ZONE, formatMinutes, localTime, type MealWindow } from '../../../../common/meal-windows.ts';
import type { Meal } from '../../../../common/contract.ts';
import type { Centre, CentreRules } from '../centres/centre-repository.ts';
import type { DeviceRow, DeviceState } from '../meals/device-repository.ts';
import type { ActivityRepository } from './activity-repository.ts';
import type { Visible } from './stats-repository.ts';
import { dayNumber } from './stats-query.ts';
import { dateOf } from './stats-summary.ts';

export interface HealthSettings {
  /** A box is offline when its status is not `online` and nothing came from it for this long. */
  offlineAfterMinutes: number;
  /** A meal is silent this long after its window's end with no meal where there usually are some. */
  silentGraceMinutes: number;
}

export interface WelfareSettings {
  /** Counted meals at a centre in the last `windowDays` days that make an elder a regular there. */
  minMeals: number;
  /** Days since the last meal (at any centre) from which a regular is listed. */
  absentDays: number;
}

/** The window regulars are counted over, in days (today included). */
export const WELFARE_WINDOW_DAYS = 28;
/** Weeks whose same weekday gives a centre's usual count. */
export const USUAL_WEEKS = 4;

export interface BoxHealth {
  deviceId: string;
  /** The retained status topic: online, offline (last will or shutdown), unknown (never said). */
  status: DeviceState;
  statusAt: string | null;
  /** Last event batch or status change received from it; null: registered, never heard from. */
  lastSeen: string | null;
  online: boolean;
}

export interface MealHealth {
  meal: Meal;
  /** The window in the centre's local time, e.g. 11:00-13:30. */
  window: string;
  /** upcoming: before the window; open: in it; closed: after it. */
  state: 'upcoming' | 'open' | 'closed';
  today: number;
  /** The counts of this meal on the same weekday 1, 2, 3 and 4 weeks ago, newest first. */
  sameWeekdays: number[];
  /** Their median. */
  usual: number;
  /** Usually served, none today, and the window ended more than the grace ago. */
  silent: boolean;
}

export interface CentreHealth {
  centreId: string;
  name: string | null;
  districtId: string | null;
  timeZone: string;
  /** The centre's local date and time now. */
  localDate: string;
  localTime: string;
  boxes: BoxHealth[];
  boxesOnline: number;
  boxesOffline: number;
  meals: MealHealth[];
  /** Some box is offline (or the centre has none the server has heard from). */
  offline: boolean;
  /** Some meal is silent. */
  silent: boolean;
}

export interface HealthReport {
  at: string;
  offlineAfterMinutes: number;
  silentGraceMinutes: number;
  centres: CentreHealth[];
  totals: { centres: number; offline: number; silent: number; boxes: number; boxesOffline: number };
}

export interface HealthDeps {
  centres: { list(visible?: Visible): Centre[]; get(centreId: string): Centre; rules(centreId: string): CentreRules };
  devices: { list(): DeviceRow[] };
  /** The boxes registered with `mealcheck device add` (devices/credential-repository.ts). */
  credentials: { list(): Array<{ centreId: string; deviceId: string }> };
  activity: ActivityRepository;
}

const inVisible = (v: Visible, centreId: string) => v === 'all' || v.includes(centreId);
type Box = Pick<DeviceRow, 'deviceId' | 'status' | 'statusAt'> & { lastSeen: string | null };

/**
 * The boxes of each centre: those the server heard from and those registered but never heard
 * from. Once boxes are registered, one whose credential was removed is gone: not listed.
 */
function boxesOf(deps: HealthDeps, visible: Visible): Map<string, Box[]> {
  const registered = deps.credentials.list();
  const key = (c: string, d: string) => `${c}\0${d}`;
  const isRegistered = new Set(registered.map((r) => key(r.centreId, r.deviceId)));
  const out = new Map<string, Box[]>();
  const add = (centreId: string, box: Box) => {
    if (!inVisible(visible, centreId)) return;
    let list = out.get(centreId);
    if (!list) out.set(centreId, (list = []));
    list.push(box);
  };
  const heard = new Set<string>();
  for (const d of deps.devices.list()) {
    if (registered.length > 0 && !isRegistered.has(key(d.centreId, d.deviceId))) continue;
    heard.add(key(d.centreId, d.deviceId));
    add(d.centreId, d);
  }
  for (const r of registered) if (!heard.has(key(r.centreId, r.deviceId))) add(r.centreId, { deviceId: r.deviceId, status: 'unknown', statusAt: null, lastSeen: null });
  for (const list of out.values()) list.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  return out;
}

/** The median of a list of counts (mean of the middle two for an even length); 0 for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function boxOnline(d: Pick<Box, 'status' | 'lastSeen'>, now: Date, offlineAfterMinutes: number): boolean {
  // The box's own word (its retained status; the broker publishes `offline` as its last will).
  if (d.status === 'online') return true;
  if (d.status === 'offline') return false;
  if (d.lastSeen === null) return false;
  // A box that never said (a status not yet received) but sent something lately is up.
  return now.getTime() - Date.parse(d.lastSeen) < offlineAfterMinutes * 60_000;
}

/** A meal's state at local minute `minutes`, and whether it is silent. */
export function mealHealth(w: MealWindow, minutes: number, today: number, sameWeekdays: number[], graceMinutes: number): MealHealth {
  const usual = median(sameWeekdays);
  const state = minutes < w.start ? 'upcoming' : minutes < w.end ? 'open' : 'closed';
  return {
    meal: w.meal,
    window: `${formatMinutes(w.start)}-${formatMinutes(w.end)}`,
    state,
    today,
    sameWeekdays,
    usual,
    silent: usual > 0 && today === 0 && minutes >= w.end + graceMinutes,
  };
}

const shift = (date: string, days: number) => dateOf(dayNumber(date)! + days);

export function centreHealth(deps: HealthDeps, now: Date, visible: Visible, s: HealthSettings): HealthReport {
  const known = new Map(deps.centres.list(visible).map((c) => [c.centreId, c]));
  const boxes = boxesOf(deps, visible);
  // One read covers every zone: from the earliest local date 4 weeks back to the latest today.
  const zones = new Set([...known.values()].map((c) => c.timeZone));
  zones.add(DEFAULT_TIME_ZONE);
  const todays = [...zones].map((z) => localTime(now, z).date).sort();
  const counts = new Map<string, number>();
  const withMeals = new Set<string>();
  for (const r of deps.activity.dayCounts(shift(todays[0]!, -7 * USUAL_WEEKS), todays[todays.length - 1]!, visible)) {
    counts.set(`${r.centreId}|${r.serviceDate}|${r.meal}`, r.meals);
    withMeals.add(r.centreId);
  }
  const ids = [...new Set([...known.keys(), ...boxes.keys(), ...withMeals])].sort();
  const out: CentreHealth[] = ids.map((centreId) => {
    const c = known.get(centreId) ?? deps.centres.get(centreId);
    const { windows, timeZone } = deps.centres.rules(centreId);
    const local = localTime(now, timeZone);
    const bs: BoxHealth[] = (boxes.get(centreId) ?? []).map((d) => ({ deviceId: d.deviceId, status: d.status, statusAt: d.statusAt, lastSeen: d.lastSeen, online: boxOnline(d, now, s.offlineAfterMinutes) }));
    const online = bs.filter((b) => b.online).length;
    const meals = windows.map((w) => {
      const n = (date: string) => counts.get(`${centreId}|${date}|${w.meal}`) ?? 0;
      const weeks = Array.from({ length: USUAL_WEEKS }, (_, i) => n(shift(local.date, -7 * (i + 1))));
      return mealHealth(w, local.minutes, n(local.date), weeks, s.silentGraceMinutes);
    });
    return {
      centreId,
      name: c.name,
      districtId: c.districtId,
      timeZone,
      localDate: local.date,
      localTime: formatMinutes(local.minutes),
      boxes: bs,
      boxesOnline: online,
      boxesOffline: bs.length - online,
      meals,
      offline: bs.length === 0 || online < bs.length,
      silent: meals.some((m) => m.silent),
    };
  });
  return {
    at: now.toISOString(),
    offlineAfterMinutes: s.offlineAfterMinutes,
    silentGraceMinutes: s.silentGraceMinutes,
    centres: out,
    totals: {
      centres: out.length,
      offline: out.filter((c) => c.offline).length,
      silent: out.filter((c) => c.silent).length,
      boxes: out.reduce((n, c) => n + c.boxes.length, 0),
      boxesOffline: out.reduce((n, c) => n + c.boxesOffline, 0),
    },
  };
}

export interface WelfareElder {
  centreId: string;
  centreName: string | null;
  elderId: string;
  /** From the centre's registry (as GET /elders shows them); null when its box never reported the elder. */
  name: string | null;
  /** For the call. */
  phone: string | null;
  /** The last counted meal, at any centre. */
  lastMealDate: string;
  daysAbsent: number;
  /** Counted meals at this centre in the window. */
  mealsInWindow: number;
}

export interface WelfareReport {
  at: string;
  minMeals: number;
  absentDays: number;
  windowDays: number;
  elders: WelfareElder[];
  total: number;
}

/** Registry statuses that explain an absence: not listed (a box refuses them anyway). */
const NOT_EXPECTED = new Set(['deceased', 'moved', 'suspended']);

export function welfareList(deps: HealthDeps, now: Date, visible: Visible, s: WelfareSettings): WelfareReport {
  // Per time zone, since "today" is each centre's own; centres without a row have the default zone.
  const known = deps.centres.list(visible);
  const defaultZone = DEFAULT_TIME_ZONE;
  const byZone = new Map<string, string[]>();
  for (const c of known) {
    if (c.timeZone === defaultZone) continue;
    let list = byZone.get(c.timeZone);
    if (!list) byZone.set(c.timeZone, (list = []));
    list.push(c.centreId);
  }
  const elsewhere = new Set([...byZone.values()].flat());
  const names = new Map(known.map((c) => [c.centreId, c.name]));
  const elders: WelfareElder[] = [];
  const collect = (zone: string, centres: Visible, accept: (centreId: string) => boolean) => {
    const today = localTime(now, zone).date;
    const from = shift(today, -(WELFARE_WINDOW_DAYS - 1));
    const cutoff = dayNumber(today)! - s.absentDays;
    for (const r of deps.activity.regulars(from, today, s.minMeals, centres)) {
      if (!accept(r.centreId) || r.removed || (r.status !== null && NOT_EXPECTED.has(r.status))) continue;
      const last = dayNumber(r.lastMealDate)!;
      if (last > cutoff) continue;
      elders.push({ centreId: r.centreId, centreName: names.get(r.centreId) ?? null, elderId: r.elderId, name: r.name, phone: r.phone, lastMealDate: r.lastMealDate, daysAbsent: dayNumber(today)! - last, mealsInWindow: r.meals });
    }
  };
  collect(defaultZone, visible, (c) => !elsewhere.has(c));
  for (const [zone, centres] of byZone) collect(zone, centres, () => true);
  elders.sort((a, b) => (a.centreId < b.centreId ? -1 : a.centreId > b.centreId ? 1 : b.daysAbsent - a.daysAbsent || (a.elderId < b.elderId ? -1 : 1)));
  return { at: now.toISOString(), minMeals: s.minMeals, absentDays: s.absentDays, windowDays: WELFARE_WINDOW_DAYS, elders, total: elders.length };
}
