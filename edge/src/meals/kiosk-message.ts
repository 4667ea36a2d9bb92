/** What the kiosk screen shows (and says aloud) for a check-in outcome, in Chinese. */
import type { Meal } from '../../../common/contract.ts';
import type { CheckInResult } from './check-in.ts';

export const MEAL_NAMES_ZH: Record<Meal, string> = { breakfast: '早餐', lunch: '午餐', dinner: '晚餐' };

export type KioskTone = 'ok' | 'info' | 'error';

export interface KioskMessage {
  /** `ok` green, `info` neutral, `error` red: the elder must not think a failure succeeded. */
  tone: KioskTone;
  text: string;
}

/**
 * The same message in its parts: the elder's name (when the message names one) and the rest.
 * The kiosk masks or leaves out the name (kiosk/name-mask.ts) and keeps the message as is.
 */
export interface KioskMessageParts {
  tone: KioskTone;
  name?: string;
  message: string;
}

/** A face the door did not recognise (the pipeline's `unknown` decision). */
export const UNKNOWN_FACE_MESSAGE: Readonly<KioskMessageParts> = { tone: 'error', message: '请联系工作人员' };

export function kioskMessageParts(result: CheckInResult): KioskMessageParts {
  switch (result.status) {
    case 'recorded':
      // A provisional check-in's meal is the box's guess (clock not set yet): not shown.
      return { tone: 'ok', name: result.checkIn.elderName, message: result.checkIn.provisional ? '签到成功' : `${MEAL_NAMES_ZH[result.checkIn.meal]}签到成功` };
    case 'already-checked-in':
      return { tone: 'info', name: result.checkIn.elderName, message: '本餐已签到' };
    case 'outside-meal-window':
      return { tone: 'info', message: '现在不是就餐时间' };
    case 'unknown-elder':
    case 'elder-inactive':
      return { ...UNKNOWN_FACE_MESSAGE };
    case 'not-recorded':
      // Held for staff review (the clock rules): like an anti-spoof hold, the elder waits for staff, no name shown.
      if (result.review !== undefined) return { tone: 'info', message: '请稍候，工作人员确认' };
      return { tone: 'error', message: '签到未成功，请联系工作人员' };
    case 'pending-confirmation':
      // No name: whoever holds a photo up to the camera should not learn whose face it matched.
      // `info`, not `error`: a real elder is not refused, only asked to wait for a moment.
      return { tone: 'info', message: '请稍候，工作人员确认' };
  }
}

/** `name message`, as the log and the demo print it. */
export function joinKioskText(name: string | undefined, message: string): string {
  return name ? `${name} ${message}` : message;
}

export function kioskMessage(result: CheckInResult): KioskMessage {
  const p = kioskMessageParts(result);
  return { tone: p.tone, text: joinKioskText(p.name, p.message) };
}
