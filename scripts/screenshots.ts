/**
 * `node scripts/run.js scripts/screenshots.ts [--out DIR]`: the README's screenshots of the
 * staff pages, taken in Debian's Chromium at tablet size (1024x600) from a real edge HTTP
 * server on a throw-away database. Each entry of SCREENS logs in as it needs and opens a page;
 * other features add theirs (with `plugins` for their routes and `seed` for their data).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { parseOptions, type CommandSpec } from '../common/config.ts';
import { openEdgeDatabase } from '../edge/src/main.ts';
import type { StaffService } from '../edge/src/staff/staff-service.ts';
import { launchChromium, TABLET } from '../test/helpers/browser.ts';
import { staffTestApp } from '../test/helpers/staff-session.ts';
import { systemClock } from '../common/clock.ts';

interface Screen {
  file: string;
  /** Log in as this account first (staff id, PIN), or not at all. */
  as?: { id: string; pin: string };
  lang?: 'zh-CN' | 'en';
  go: (page: Page, base: string) => Promise<void>;
}

const MANAGER = { id: 'M001', pin: '135790' };

export const SCREENS: Screen[] = [
  { file: 'staff-login.png', go: async (p, base) => void (await p.goto(`${base}/staff/login`)) },
  {
    file: 'staff-login-locked.png',
    go: async (p, base) => {
      for (let i = 0; i < 5; i++) {
        await p.goto(`${base}/staff/login`);
        await p.fill('#staffId', 'S002');
        await p.fill('#pin', '000000');
        await p.click('#login-form button[type=submit]');
      }
    },
  },
  { file: 'staff-home.png', as: MANAGER, go: async (p, base) => void (await p.goto(`${base}/staff/`)) },
  { file: 'staff-home-en.png', as: MANAGER, lang: 'en', go: async (p, base) => void (await p.goto(`${base}/staff/`)) },
  {
    file: 'staff-accounts.png',
    as: MANAGER,
    go: async (p, base) => {
      await p.goto(`${base}/staff/accounts`);
      await p.fill('#name', '赵敏');
      await p.click('#add-staff button[type=submit]');
    },
  },
  { file: 'staff-pin.png', as: MANAGER, go: async (p, base) => void (await p.goto(`${base}/staff/pin`)) },
];

async function seed(staff: StaffService): Promise<void> {
  await staff.add({ staffId: MANAGER.id, name: '张丽', role: 'manager', pin: MANAGER.pin }, null);
  await staff.add({ staffId: 'S001', name: '王芳', role: 'staff', pin: '864209' }, null);
  await staff.add({ staffId: 'S002', name: '李建国', role: 'staff', pin: '975310' }, null);
}

const SPEC = {
  usage: 'node scripts/run.js scripts/screenshots.ts [--out DIR]',
  options: { out: { flag: 'out', type: 'string', default: 'docs/screenshots', arg: 'DIR', doc: 'where the PNG files go' } },
} as const satisfies CommandSpec;

async function main(): Promise<void> {
  const p = parseOptions(process.argv.slice(2), SPEC);
  if (p.help !== undefined) return console.log(p.help);
  const dir = mkdtempSync(join(tmpdir(), 'mealcheck-shots-'));
  const db = openEdgeDatabase(join(dir, 'edge.db'));
  const { server, staff } = staffTestApp(db, systemClock);
  await seed(staff);
  await server.start();
  const base = `http://127.0.0.1:${server.port()}`;
  const browser = await launchChromium();
  mkdirSync(p.options.out, { recursive: true });
  try {
    for (const s of SCREENS) {
      const context = await browser.newContext({ viewport: TABLET });
      if (s.lang) await context.addCookies([{ name: 'mealcheck_lang', value: s.lang, url: base }]);
      const page = await context.newPage();
      if (s.as) {
        await page.goto(`${base}/staff/login`);
        await page.fill('#staffId', s.as.id);
        await page.fill('#pin', s.as.pin);
        await page.click('#login-form button[type=submit]');
      }
      await s.go(page, base);
      await page.screenshot({ path: join(p.options.out, s.file), fullPage: true });
      console.log(`${join(p.options.out, s.file)}`);
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
