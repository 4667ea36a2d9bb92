/**
 * The Chinese resident identity card number (居民身份证号码, GB 11643-1999): 6 digits of region,
 * 8 of birth date (YYYYMMDD), 3 of sequence, and a check character (0-9 or X) computed from the
 * other 17 (ISO 7064 MOD 11-2). Both programs check it the same way: the edge when staff type
 * it, the server when a registry record arrives. Masking lives here too, so a list on either
 * side shows the same `**************123X`.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARS = '10X98765432';

/** 18 characters, the last a digit or X (upper case: normalise first). */
export const ID_NUMBER_PATTERN = '^[1-9][0-9]{16}[0-9X]$';
const shapeRe = new RegExp(ID_NUMBER_PATTERN);

/** Upper-cases a trailing x and drops spaces staff type for readability (`110105 19491231 002X`). */
export function normaliseIdNumber(raw: string): string {
  return raw.replace(/\s+/g, '').toUpperCase();
}

/** The check character of the first 17 digits. */
export function idNumberCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK_CHARS[sum % 11]!;
}

/** What is wrong with an ID number: a code and its values (for a page's own words), and a message. */
export interface IdNumberIssue {
  code: 'length' | 'shape' | 'date' | 'check';
  params: Record<string, string | number>;
  message: string;
}

/**
 * What is wrong with an ID number (already normalised), or undefined when it is valid. `today`
 * bounds the birth date (no one is born tomorrow).
 */
export function idNumberIssue(id: string, today: Date = new Date()): IdNumberIssue | undefined {
  if (id.length !== 18) return { code: 'length', params: { n: id.length }, message: `an ID-card number has 18 characters, got ${id.length}` };
  if (!shapeRe.test(id)) return { code: 'shape', params: {}, message: 'an ID-card number is 17 digits and a last digit or X' };
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  const birth = new Date(Date.UTC(y, m - 1, d));
  if (y < 1880 || birth.getUTCFullYear() !== y || birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d || birth.getTime() > today.getTime()) {
    return { code: 'date', params: { date: id.slice(6, 14) }, message: `characters 7-14 of an ID-card number are the birth date; ${id.slice(6, 14)} is not a real date` };
  }
  const expected = idNumberCheckChar(id.slice(0, 17));
  if (id[17] !== expected) return { code: 'check', params: { expected, got: id[17]! }, message: `the last character of this ID-card number should be ${expected}, not ${id[17]}: a digit is mistyped` };
  return undefined;
}

/** What is wrong with an ID number, in words staff can act on, or undefined when it is valid. */
export function idNumberProblem(id: string, today: Date = new Date()): string | undefined {
  return idNumberIssue(id, today)?.message;
}

/** `**************123X`: only the last 4 characters, which staff search by. */
export function maskIdNumber(id: string): string {
  return id.length <= 4 ? id : `${'*'.repeat(id.length - 4)}${id.slice(-4)}`;
}
