/** What the kiosk screen shows (and says aloud) for a check-in outcome, in Chinese. */
import type { Meal } from '../../../common/contract.ts';
import type { CheckInResult } from './check-in.ts';

export const MEAL_NAMES_ZH: Record<Meal, string> = { breakfast: '早餐', lunch: '午餐', dinner: '晚餐' };

export interface KioskMessage {
  /** `ok` green, `info` neutral, `error` red: the elder must not think a failure succeeded. */
  tone: 'ok' | 'info' | 'error';
  text: string;
}

export function kioskMessage(result: CheckInResult): KioskMessage {
  switch (result.status) {
    case 'recorded':
      // A provisional check-in's meal is the box's guess (clock not set yet): not shown.
      return { tone: 'ok', text: result.checkIn.provisional ? `${result.checkIn.elderName} 签到成功` : `${result.checkIn.elderName} ${MEAL_NAMES_ZH[result.checkIn.meal]}签到成功` };
    case 'already-checked-in':
      return { tone: 'info', text: `${result.checkIn.elderName} 本餐已签到` };
    case 'outside-meal-window':
      return { tone: 'info', text: '现在不是就餐时间' };
    case 'unknown-elder':
    case 'elder-inactive':
      return { tone: 'error', text: '请联系工作人员' };
    case 'not-recorded':
      return { tone: 'error', text: '签到未成功，请联系工作人员' };
    case 'pending-confirmation':
      // No name: whoever holds a photo up to the camera should not learn whose face it matched.
      // `info`, not `error`: a real elder is not refused, only asked to wait for a moment.
      return { tone: 'info', text: '请稍候，工作人员确认' };
  }
}
