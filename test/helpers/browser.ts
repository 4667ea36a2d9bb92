/**
 * Debian's Chromium through playwright-core, for browser tests and the README's screenshots.
 * Never downloads a browser: /usr/bin/chromium (apt install chromium; .ci/run installs it) or
 * MEALCHECK_CHROMIUM. Missing, it fails with a message saying so (a skipped browser test would
 * look like a passing one).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.MEALCHECK_CHROMIUM ?? '/usr/bin/chromium';

/** `extraArgs`: e.g. KIOSK_MODE_ARGS, as the kiosk's Chromium runs at the door. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set MEALCHECK_CHROMIUM; browser tests need a real browser and never download one`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', ...extraArgs] });
}

/** The flag the README's kiosk Chromium runs with: the page may speak without a tap first. */
export const KIOSK_MODE_ARGS = ['--autoplay-policy=no-user-gesture-required'] as const;

/** A tablet in landscape (a cheap 10-inch one, or a Pi's 7-inch screen at 1024x600). */
export const TABLET = { width: 1024, height: 600 } as const;
