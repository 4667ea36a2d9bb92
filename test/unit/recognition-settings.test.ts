import { describe, expect, it } from 'vitest';
import { parseArgs, readSettings } from '../../common/config.ts';
import { recognitionOptions, recognitionSettings } from '../../edge/src/recognition/settings.ts';

describe('recognition settings', () => {
  it('default to the pipeline defaults', () => {
    expect(recognitionOptions(readSettings(recognitionSettings, parseArgs([]), {}), { strongMatchDistance: 0.34 })).toEqual({ minFaceSize: 40, quality: { maxYaw: 0.6, minBrightness: 25, minSharpness: 0 }, voter: { minAgreeing: 2, maxAttempts: 5, strongDistance: 0.34 } });
  });

  it('take flags and environment variables', () => {
    const s = readSettings(recognitionSettings, parseArgs(['--votes-needed', '3', '--max-attempts', '2', '--max-yaw', '0.4']), { MEALCHECK_MIN_FACE_SIZE: '60', MEALCHECK_MIN_SHARPNESS: '5' });
    expect(recognitionOptions(s, { strongMatchDistance: 0.9 })).toEqual({ minFaceSize: 60, quality: { maxYaw: 0.4, minBrightness: 25, minSharpness: 5 }, voter: { minAgreeing: 3, maxAttempts: 3, strongDistance: 0.9 } });
    const given = readSettings(recognitionSettings, parseArgs(['--strong-match-distance', '0']), {});
    expect(recognitionOptions(given, { strongMatchDistance: 0.9 }).voter?.strongDistance).toBe(0);
  });

  it('reject values out of range', () => {
    expect(() => readSettings(recognitionSettings, parseArgs(['--votes-needed', '0']), {})).toThrow(/at least 1/);
  });
});
