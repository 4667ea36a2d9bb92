import { describe, expect, it } from 'vitest';
import { parseArgs, readSettings } from '../../common/config.ts';
import { recognitionOptions, recognitionSettings } from '../../edge/src/recognition/settings.ts';

describe('recognition settings', () => {
  it('default to the pipeline defaults', () => {
    expect(recognitionOptions(readSettings(recognitionSettings, parseArgs([]), {}))).toEqual({ minFaceSize: 40, voter: { minAgreeing: 2, maxAttempts: 5 } });
  });

  it('take flags and environment variables', () => {
    const s = readSettings(recognitionSettings, parseArgs(['--votes-needed', '3', '--max-attempts', '2']), { MEALCHECK_MIN_FACE_SIZE: '60' });
    expect(recognitionOptions(s)).toEqual({ minFaceSize: 60, voter: { minAgreeing: 3, maxAttempts: 3 } });
  });

  it('reject values out of range', () => {
    expect(() => readSettings(recognitionSettings, parseArgs(['--votes-needed', '0']), {})).toThrow(/at least 1/);
  });
});
