/**
 * The enrolment wizard in real Chromium against a running edge (its HTTP server, SQLite, the
 * recognition pipeline on a live fake door camera; the model is the only other fake): live
 * feedback as the elder moves, three captures, the look-alike warning naming the enrolled
 * elder, a manager's override, the templates saved. Saves docs/screenshots/enrol-*.png.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEdgeConfig } from '../../edge/src/config.ts';
import { FACE_API_MODEL } from '../../edge/src/recognition/matcher.ts';
import { Edge } from '../../edge/src/main.ts';
import { launchChromium, TABLET } from '../helpers/browser.ts';
import { edgeTempDir, quietEdgeLogger, TestClock } from '../helpers/edge-fixtures.ts';
import { descriptorAt, FakeEngine, fakeFace, syntheticDescriptor } from '../helpers/fake-engine.ts';
import { LiveFakeCamera } from '../helpers/live-camera.ts';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const wang = syntheticDescriptor(1);

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

describe('enrolment wizard in Chromium', () => {
  it('a manager enrols an elder at the door camera: feedback, captures, the look-alike warning and the override', async () => {
    const tmp = edgeTempDir();
    const config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', `${tmp.dir}/edge`, '--server', 'mqtt://127.0.0.1:1', '--http-port', '0'], {});
    const camera = new LiveFakeCamera('door', 'empty', 50);
    const engine = new FakeEngine({
      empty: [],
      far: [fakeFace({ descriptor: descriptorAt(wang, 0.1, 9), box: { width: 24, height: 30 } })],
      twin: [fakeFace({ descriptor: descriptorAt(wang, 0.1, 9) })],
    });
    const edge = new Edge(config, { engine, source: camera, clock: new TestClock('2026-11-28T04:00:00Z'), logger: quietEdgeLogger });
    let page: Page | undefined;
    try {
      await edge.start();
      await edge.staff.add({ staffId: 'M001', name: '张丽', role: 'manager', pin: '135790' }, null);
      // 王秀英 is enrolled already; her twin sister 王秀兰 comes to enrol.
      edge.registry.create({ elderId: 'E1', name: '王秀英' }, 'M001', { signedBy: 'elder' });
      edge.elders.addTemplate('E1', wang, 'live-1', FACE_API_MODEL);
      edge.registry.create({ elderId: 'E2', name: '王秀兰' }, 'M001', { signedBy: 'guardian', guardianName: '王小明' });

      page = await (await browser.newContext({ viewport: TABLET })).newPage();
      await page.goto(`${edge.statusUrl}/staff/login`);
      await page.fill('#staffId', 'M001');
      await page.fill('#pin', '135790');
      await page.click('#login-form button[type=submit]');
      await page.goto(`${edge.statusUrl}/staff/elders/E2`);
      await page.click('#elder-enrol-link');
      expect(new URL(page.url()).pathname).toBe('/staff/elders/E2/enrol');

      await page.click('#enrol-start');
      // The button goes once the box has opened the session (a fetch): wait for it, don't race it.
      await page.waitForSelector('#enrol-start', { state: 'hidden', timeout: 10_000 });
      // Nobody in front of the camera, then too far, then right: the feedback follows.
      await page.waitForSelector('#enrol-feedback[data-code="no-face"]');
      expect(await page.textContent('#enrol-feedback')).toBe('请看镜头');
      camera.show('far');
      await page.waitForSelector('#enrol-feedback[data-code="too-small"]');
      expect(await page.textContent('#enrol-feedback')).toMatch(/^请靠近一点/);
      camera.show('twin');
      await page.waitForSelector('#enrol-feedback[data-code="ok"]');
      await page.screenshot({ path: `${SHOTS}enrol-feedback.png` });
      expect(await page.isDisabled('#enrol-finish')).toBe(true);
      for (let i = 1; i <= 3; i++) {
        await page.click('#enrol-capture');
        await page.waitForSelector(`#enrol-count:text-matches("^已拍 ${i} ")`);
      }
      expect(await page.isDisabled('#enrol-finish')).toBe(false);

      await page.click('#enrol-finish');
      await page.waitForSelector('#enrol-lookalike:not([hidden])');
      expect(await page.textContent('#enrol-result')).toContain('看起来像已录入的 王秀英（E1）');
      expect(edge.elders.countTemplates('E2')).toBe(0);
      await page.screenshot({ path: `${SHOTS}enrol-lookalike.png`, fullPage: true });

      await page.click('#enrol-override');
      await page.waitForSelector('#enrol-result.ok');
      expect(await page.textContent('#enrol-result')).toContain('录入完成：王秀兰，3 个人脸模板');
      expect(edge.elders.countTemplates('E2')).toBe(3);
      // On record: the enrolment and the override, by the manager.
      const actions = [...edge.audit.iterate()].filter((r) => r.subject === 'E2').map((r) => [r.action, r.staffId]);
      expect(actions).toContainEqual(['enrolment', 'M001']);
      expect(actions).toContainEqual(['override', 'M001']);
    } finally {
      await page?.context().close();
      await edge.stop();
      tmp.cleanup();
    }
  }, 60_000);

  it('refuses to enrol an elder without a signed consent, or a suspended one, and says why', async () => {
    const tmp = edgeTempDir();
    const config = loadEdgeConfig(['--centre', 'c1', '--device', 'd1', '--data', `${tmp.dir}/edge`, '--server', 'mqtt://127.0.0.1:1', '--http-port', '0'], {});
    const camera = new LiveFakeCamera('door', 'twin', 50);
    const engine = new FakeEngine({ twin: [fakeFace({ descriptor: wang })] });
    const edge = new Edge(config, { engine, source: camera, clock: new TestClock('2026-11-28T04:00:00Z'), logger: quietEdgeLogger });
    let page: Page | undefined;
    try {
      await edge.start();
      await edge.staff.add({ staffId: 'M001', name: '张丽', role: 'manager', pin: '135790' }, null);
      edge.registry.create({ elderId: 'E3', name: '李桂兰' }, 'M001');
      edge.registry.create({ elderId: 'E4', name: '张建国' }, 'M001', { signedBy: 'elder' });
      edge.registry.setStatus('E4', 'suspended', 'M001');

      page = await (await browser.newContext({ viewport: TABLET })).newPage();
      await page.goto(`${edge.statusUrl}/staff/login`);
      await page.fill('#staffId', 'M001');
      await page.fill('#pin', '135790');
      await page.click('#login-form button[type=submit]');

      const noConsent = await page.goto(`${edge.statusUrl}/staff/elders/E3/enrol`);
      expect(noConsent?.status()).toBe(409);
      expect(await page.textContent('.notice.error')).toBe('还没有签署知情同意，不能录入人脸。请先签署。');
      expect(await page.isVisible('#enrol-start')).toBe(false);
      // The way forward: the consent form.
      await page.click('#enrol-consent-first');
      expect(new URL(page.url()).pathname).toBe('/staff/elders/E3/consent');

      const suspended = await page.goto(`${edge.statusUrl}/staff/elders/E4/enrol`);
      expect(suspended?.status()).toBe(409);
      expect(await page.textContent('.notice.error')).toBe('该老人状态为“暂停”，只有在册老人才能录入人脸。');
      expect(await page.isVisible('#enrol-start')).toBe(false);
      expect(edge.elders.countTemplates()).toBe(0);
    } finally {
      await page?.context().close();
      await edge.stop();
      tmp.cleanup();
    }
  }, 60_000);
});
