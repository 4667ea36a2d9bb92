/**
 * How the kiosk shows an elder's name (`--kiosk-name`). The screen stands at the canteen door,
 * where the next elders in the queue and passers-by read it, and the elders of the subsidy
 * programme are by definition in hardship or of great age: so by default it shows the name
 * masked as public screens in China do (王*英, 欧**英): enough for the elder to see that the
 * door knows them, and to notice when it took them for someone else, without announcing to the
 * room who eats here on a subsidy. `full` shows (and says) the whole name; `none` no name.
 */
export const KIOSK_NAME_MODES = ['masked', 'full', 'none'] as const;
export type KioskNameMode = (typeof KIOSK_NAME_MODES)[number];

/**
 * 王秀英 → 王*英, 李四 → 李*, 欧阳秀英 → 欧**英; one character stays as it is. By characters
 * (code points), so a name outside the BMP is masked like any other. Whitespace at the ends
 * is dropped; an empty name stays empty.
 */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length <= 1) return chars.join('');
  if (chars.length === 2) return `${chars[0]}*`;
  return `${chars[0]}${'*'.repeat(chars.length - 2)}${chars[chars.length - 1]}`;
}

/** The name as the kiosk shows it under `mode`, or undefined when it shows none. */
export function kioskName(name: string | undefined, mode: KioskNameMode): string | undefined {
  if (name === undefined || name.trim() === '') return undefined;
  switch (mode) {
    case 'full':
      return name.trim();
    case 'masked':
      return maskName(name);
    case 'none':
      return undefined;
  }
}

/**
 * The name as the kiosk says it aloud: only under `full`. A masked name cannot be spoken (and
 * saying the whole name would undo the mask), so under `masked` the voice says the message alone.
 */
export function spokenName(name: string | undefined, mode: KioskNameMode): string | undefined {
  return mode === 'full' ? kioskName(name, mode) : undefined;
}
