import { describe, expect, it } from 'vitest';
import type { CheckIn } from '../../edge/src/meals/check-in.ts';
import { kioskMessage } from '../../edge/src/meals/kiosk-message.ts';

const checkIn: CheckIn = { eventId: 'e', elderId: 'e1', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: '2025-03-10T03:00:00.000Z', method: 'face' };

describe('kioskMessage', () => {
  it.each([
    [{ status: 'recorded', checkIn }, { tone: 'ok', text: '王秀英 午餐签到成功' }],
    [{ status: 'recorded', checkIn: { ...checkIn, meal: 'breakfast' } }, { tone: 'ok', text: '王秀英 早餐签到成功' }],
    [{ status: 'already-checked-in', checkIn }, { tone: 'info', text: '王秀英 本餐已签到' }],
    [{ status: 'unknown-elder', elderId: 'x' }, { tone: 'error', text: '请联系工作人员' }],
    [{ status: 'not-recorded', reason: 'SQLITE_FULL' }, { tone: 'error', text: '签到未成功，请联系工作人员' }],
    // Held for the review queue by the clock rules: the elder waits for staff, no name shown.
    [{ status: 'not-recorded', reason: 'clock not set', review: 'clock' }, { tone: 'info', text: '请稍候，工作人员确认' }],
    [{ status: 'outside-meal-window' }, { tone: 'info', text: '现在不是就餐时间' }],
    // Held for staff (anti-spoof): no name, so a photo held up learns nothing; not a failure.
    [{ status: 'pending-confirmation', confirmation: { id: 'c1', elderId: 'e1', elderName: '王秀英', serviceDate: '2025-03-10', meal: 'lunch', at: '2025-03-10T03:00:00.000Z', method: 'face', antispoof: 0.1, status: 'pending' } }, { tone: 'info', text: '请稍候，工作人员确认' }],
  ] as const)('%j', (result, expected) => {
    expect(kioskMessage(result)).toEqual(expected);
  });
});
