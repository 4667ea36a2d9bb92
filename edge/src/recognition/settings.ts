/**
 * Pipeline settings, for the edge's settings spec (`edge/src/config.ts`, which already has the
 * matcher's `match-threshold` and `match-margin`): spread `recognitionSettings` into it and map
 * the values with `recognitionOptions()`.
 */
import type { SettingsOf, SettingsSpec } from '../../../common/config.ts';
import type { RecognitionPipelineOptions } from './pipeline.ts';
import { DEFAULT_QUALITY_OPTIONS } from './quality.ts';

export const recognitionSettings = {
  minFaceSize: {
    flag: 'min-face-size',
    env: 'MEALCHECK_MIN_FACE_SIZE',
    type: 'int',
    default: 40,
    min: 0,
    max: 2000,
    doc: 'faces smaller than this (px, shorter side) are tracked but not matched',
  },
  votesNeeded: {
    flag: 'votes-needed',
    env: 'MEALCHECK_VOTES_NEEDED',
    type: 'int',
    default: 2,
    min: 1,
    max: 20,
    doc: 'frames that must agree on one elder before a check-in',
  },
  strongMatchDistance: {
    flag: 'strong-match-distance',
    env: 'MEALCHECK_STRONG_MATCH_DISTANCE',
    type: 'number',
    default: undefined,
    min: 0,
    max: 2,
    doc: "a single frame matched this close (and no frame naming someone else) checks in without waiting for a second frame; 0 = off (default: the model's calibrated value in models/manifest.json, below every impostor pair of faces-dev)",
  },
  maxAttempts: {
    flag: 'max-attempts',
    env: 'MEALCHECK_MAX_ATTEMPTS',
    type: 'int',
    default: 5,
    min: 1,
    max: 100,
    doc: 'frames matched per face before it is decided unknown',
  },
  // Quality gate: loose enough to refuse none of faces-dev's photos (scripts/eval/CALIBRATION.md).
  maxYaw: {
    flag: 'max-yaw',
    env: 'MEALCHECK_MAX_YAW',
    type: 'number',
    default: DEFAULT_QUALITY_OPTIONS.maxYaw,
    min: 0,
    max: 2,
    doc: 'faces turned further than this (nose offset over eye distance; about 0.5 at 45°) are not matched',
  },
  minBrightness: {
    flag: 'min-brightness',
    env: 'MEALCHECK_MIN_BRIGHTNESS',
    type: 'number',
    default: DEFAULT_QUALITY_OPTIONS.minBrightness,
    min: 0,
    max: 255,
    doc: 'faces darker than this (mean luma 0-255) are not matched',
  },
  minSharpness: {
    flag: 'min-sharpness',
    env: 'MEALCHECK_MIN_SHARPNESS',
    type: 'number',
    default: DEFAULT_QUALITY_OPTIONS.minSharpness,
    min: 0,
    max: 1000,
    doc: 'faces blurrier than this (mean absolute Laplacian) are not matched; 0 = off until calibrated on the centre\'s camera',
  },
} satisfies SettingsSpec;

export type RecognitionSettings = SettingsOf<typeof recognitionSettings>;

/** Pipeline options (all but `cameraId`) from the settings. */
export function recognitionOptions(s: RecognitionSettings, model: { strongMatchDistance: number }): Omit<Partial<RecognitionPipelineOptions>, 'cameraId'> {
  // maxAttempts below votesNeeded could never recognise anyone: raise it rather than refuse to start.
  return { minFaceSize: s.minFaceSize, quality: { maxYaw: s.maxYaw, minBrightness: s.minBrightness, minSharpness: s.minSharpness }, voter: { minAgreeing: s.votesNeeded, maxAttempts: Math.max(s.maxAttempts, s.votesNeeded), strongDistance: s.strongMatchDistance ?? model.strongMatchDistance } };
}
