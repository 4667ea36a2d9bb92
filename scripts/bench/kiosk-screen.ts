/**
 * The bench's kiosk figure: decision → text on the kiosk page, measured in the browser. A
 * real edge HTTP app with the kiosk routes and hub (as the edge wires them, voice included)
 * serves /kiosk to Debian's Chromium in kiosk mode; the pipeline under measurement feeds the
 * hub. Each decision carries the box's wall-clock time of the decision (`decidedAt`); the page
 * records, on the same machine's clock, when it put the text in the DOM and when the next frame
 * began (requestAnimationFrame: the frame that paints it). Without Chromium or playwright-core
 * (a production install has no dev dependencies) the figure is null with the reason.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE, parseMealWindows } from '../../common/meal-windows.ts';
import { KIOSK_PHRASES, KioskHub } from '../../edge/src/kiosk/kiosk-hub.ts';
import { KioskSpeech } from '../../edge/src/kiosk/kiosk-speech.ts';
import type { RecognitionPipeline } from '../../edge/src/recognition/pipeline.ts';
import { kioskWebPlugin } from '../../edge/src/web/kiosk-routes.ts';
import { StatusServer } from '../../edge/src/web/status-server.ts';
import { percentile } from './bench-stats.ts';

export interface KioskScreenFigures {
  /** Decision → the frame that paints its text (rAF after the DOM update), p95 / p50, ms. */
  decisionToScreenP95Ms: number | null;
  decisionToScreenP50Ms?: number;
  /** Decision → text in the DOM, p95, ms. */
  decisionToDomP95Ms?: number;
  /** Decisions the page showed, of those the hub sent. */
  shown?: number;
  sent?: number;
  browser?: string;
  /** Why there is no figure. */
  reason?: string;
}

interface Shown {
  id: string;
  domMs: number;
  frameMs: number;
}

export interface KioskScreen {
  /** Feeds the page from this pipeline's decisions (call before it starts). */
  attach(pipeline: RecognitionPipeline): void;
  /** Waits for the page to show what was sent, reads its figures, closes everything. */
  finish(): Promise<KioskScreenFigures>;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

export async function openKioskScreen(dir: string, logger: Logger): Promise<KioskScreen | { reason: string }> {
  let browserMod: typeof import('../../test/helpers/browser.ts');
  try {
    browserMod = await import('../../test/helpers/browser.ts');
  } catch (err) {
    return { reason: `playwright-core is not installed (a dev dependency): ${(err as Error).message.split('\n')[0]}` };
  }
  if (!existsSync(browserMod.CHROMIUM)) return { reason: `Chromium not found at ${browserMod.CHROMIUM} (apt-get install chromium, or set MEALCHECK_CHROMIUM)` };

  mkdirSync(join(dir, 'kiosk-audio'), { recursive: true });
  const speech = new KioskSpeech({ voice: 'cmn', rate: 140, volume: 100, cacheDir: join(dir, 'kiosk-audio'), logger });
  speech.start();
  await speech.warm(KIOSK_PHRASES);
  const hub = new KioskHub({ clock: systemClock, windows: parseMealWindows(DEFAULT_MEAL_WINDOWS), timeZone: DEFAULT_TIME_ZONE, nameMode: 'masked', speech });
  const server = new StatusServer({
    port: 0,
    logger,
    status: () => ({ centreId: 'bench', deviceId: 'bench', state: 'ok', problems: [], checkIns: { serviceDate: '', today: 0, total: 0 }, outboxPending: 0, mqtt: { connected: false, lastReceiptAt: null }, startedAt: new Date().toISOString() }),
    plugins: [kioskWebPlugin({ hub, speech, timeZone: DEFAULT_TIME_ZONE, showSeconds: 5 })],
  });
  await server.start();
  let browser: Awaited<ReturnType<typeof browserMod.launchChromium>>;
  try {
    browser = await browserMod.launchChromium(browserMod.KIOSK_MODE_ARGS);
  } catch (err) {
    await server.stop();
    return { reason: `Chromium did not start: ${(err as Error).message.split('\n')[0]}` };
  }
  const page = await (await browser.newContext({ viewport: browserMod.TABLET })).newPage();
  await page.goto(`http://127.0.0.1:${server.port()}/kiosk`);
  await page.waitForFunction(() => (globalThis as unknown as { __kiosk: { connected: boolean } }).__kiosk.connected, undefined, { timeout: 30_000 });

  return {
    attach(pipeline) {
      pipeline.on('deciding', (e) => hub.deciding(e));
      pipeline.on('check-in', (e) => hub.checkIn(e));
      pipeline.on('unknown', (e) => hub.unknown(e));
    },
    async finish() {
      try {
        const sent = hub.published;
        // Every decision reaches the page within well under a second; wait for the last of them.
        await page.waitForFunction((n) => (globalThis as unknown as { __kiosk: { shown: unknown[] } }).__kiosk.shown.length >= n, sent, { timeout: 10_000 }).catch(() => undefined);
        const shown = await page.evaluate(() => (globalThis as unknown as { __kiosk: { shown: Shown[] } }).__kiosk.shown);
        const frame = shown.map((s) => s.frameMs);
        const dom = shown.map((s) => s.domMs);
        if (shown.length === 0) return { decisionToScreenP95Ms: null, sent, shown: 0, reason: 'the page showed no decision' };
        return {
          decisionToScreenP95Ms: r1(percentile(frame, 95)),
          decisionToScreenP50Ms: r1(percentile(frame, 50)),
          decisionToDomP95Ms: r1(percentile(dom, 95)),
          shown: shown.length,
          sent,
          browser: `chromium ${browser.version()}`,
        };
      } finally {
        await browser.close();
        await server.stop();
      }
    },
  };
}
