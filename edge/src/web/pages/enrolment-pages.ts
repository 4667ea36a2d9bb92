/**
 * The enrolment wizard's page (issue 12, item 3): `GET /staff/elders/:elderId/enrol`. The elder
 * is picked (or created) on the elder pages, and the consent recorded there first; this page then
 * runs the steps with a little JS (/staff/assets/enrol.js, the box's own file) against the
 * enrolment API (web/enrolment-routes.ts): live feedback on the door camera's newest frame
 * ("请看镜头", "请靠近一点"...), 3-5 captures, an optional ID-card photo, the duplicate check
 * ("looks like 王秀英, E003") with a manager's override, and the result.
 *
 * The page never shows the frames themselves: the box keeps them in memory for the session only.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { MAX_CAPTURES, MIN_CAPTURES, type FeedbackCode } from '../../elders/enrolment-wizard.ts';
import type { ElderRegistry } from '../../elders/registry-service.ts';
import type { MessageKey } from '../i18n/index.ts';
import { requireRole } from '../staff-auth.ts';
import { html, rawHtml } from '../../../../common/web/html.ts';
import { pageContext, renderPage, sendPage } from './layout.ts';

const FEEDBACK: FeedbackCode[] = ['ok', 'no-frame', 'no-face', 'several-faces', 'bad-image', 'too-small', 'turned', 'tilted', 'too-dark', 'too-bright', 'blurred'];

/** The wizard's script: polls the feedback, captures, uploads, finishes. No framework, no build step. */
export const ENROL_JS = `
(function () {
  var root = document.getElementById('enrol');
  if (!root) return;
  var msg = JSON.parse(document.getElementById('enrol-messages').textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var elderId = root.dataset.elderId, session = null, timer = null, busy = false;
  var $ = function (id) { return document.getElementById(id); };
  function api(method, url, body, type) {
    var h = { 'x-csrf-token': csrf };
    if (body !== undefined) h['content-type'] = type || 'application/json';
    return fetch(url, { method: method, headers: h, body: body === undefined ? undefined : (type ? body : JSON.stringify(body)), credentials: 'same-origin' })
      .then(function (r) { return r.status === 204 ? { status: 204, body: {} } : r.json().then(function (b) { return { status: r.status, body: b }; }); });
  }
  function say(el, text, kind) { el.textContent = text; el.className = 'notice ' + (kind || 'info'); el.hidden = false; }
  function feedback(f) {
    var t = msg.feedback[f.code] || f.code;
    if (f.faceSize !== undefined && f.code !== 'ok') t += ' (' + msg.faceSize.replace('{n}', f.faceSize) + ')';
    say($('enrol-feedback'), t, f.code === 'ok' ? 'ok' : 'error');
    $('enrol-feedback').dataset.code = f.code;
  }
  function show(s) {
    session = s;
    $('enrol-count').textContent = msg.count.replace('{n}', s.captures).replace('{max}', root.dataset.max);
    $('enrol-capture').disabled = s.captures >= Number(root.dataset.max);
    $('enrol-finish').disabled = s.captures < Number(root.dataset.min);
    $('enrol-idphoto-state').textContent = s.idPhoto ? msg.idPhotoAdded : '';
  }
  function poll() {
    if (!session || busy) return;
    api('POST', '/api/v1/enrolments/' + session.id + '/preview', {}).then(function (r) { if (r.status === 200) feedback(r.body.feedback); });
  }
  $('enrol-start').addEventListener('click', function () {
    api('POST', '/api/v1/enrolments', { elderId: elderId }).then(function (r) {
      if (r.status !== 201) return say($('enrol-result'), (r.body.problems || [r.body]).map(function (p) { return p.message || p.error; }).join(' '), 'error');
      $('enrol-start').hidden = true; $('enrol-steps').hidden = false;
      show(r.body.session); poll(); timer = setInterval(poll, 800);
    });
  });
  $('enrol-capture').addEventListener('click', function () {
    busy = true;
    api('POST', '/api/v1/enrolments/' + session.id + '/capture', {}).then(function (r) {
      busy = false;
      if (r.status !== 200) return say($('enrol-result'), r.body.error, 'error');
      feedback(r.body.feedback); show(r.body.session);
    });
  });
  $('enrol-idphoto').addEventListener('change', function (e) {
    var file = e.target.files[0];
    if (!file) return;
    api('POST', '/api/v1/enrolments/' + session.id + '/photo', file, file.type === 'image/png' ? 'image/png' : 'image/jpeg').then(function (r) {
      if (r.status !== 200) return say($('enrol-result'), r.body.error, 'error');
      if (r.body.feedback.code !== 'ok') say($('enrol-result'), msg.idPhotoRefused + ' ' + (msg.feedback[r.body.feedback.code] || ''), 'error');
      show(r.body.session);
    });
  });
  function finish(allow) {
    busy = true;
    api('POST', '/api/v1/enrolments/' + session.id + '/finish', allow ? { allowLookalike: true } : {}).then(function (r) {
      busy = false;
      if (r.status === 200) {
        clearInterval(timer);
        $('enrol-steps').hidden = true; $('enrol-lookalike').hidden = true;
        return say($('enrol-result'), msg.done.replace('{name}', r.body.name).replace('{n}', r.body.templates), 'ok');
      }
      var problems = r.body.problems || [];
      var alike = problems.filter(function (p) { return p.code === 'looks-like-enrolled' && p.lookalike; });
      if (alike.length) {
        var a = alike[0].lookalike;
        say($('enrol-result'), msg.lookalike.replace('{name}', a.name || a.elderId).replace('{id}', a.elderId), 'error');
        $('enrol-lookalike').hidden = false;
        return;
      }
      say($('enrol-result'), problems.length ? problems.map(function (p) { return p.message; }).join(' ') : r.body.error, 'error');
    });
  }
  $('enrol-finish').addEventListener('click', function () { finish(false); });
  var override = $('enrol-override');
  if (override) override.addEventListener('click', function () { finish(true); });
})();
`;

export function enrolmentPages(app: FastifyInstance, registry: ElderRegistry): void {
  app.get('/staff/assets/enrol.js', async (_req, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(ENROL_JS));

  app.get<{ Params: { elderId: string } }>(
    '/staff/elders/:elderId/enrol',
    { preValidation: requireRole('staff'), schema: { params: Type.Object({ elderId: Type.String({ pattern: ID_PATTERN }) }) } },
    async (request, reply) => {
      const page = pageContext(request);
      const t = page.t;
      const d = registry.get(request.params.elderId);
      if (!d) return sendPage(reply, renderPage({ ...page, title: t('enrol.title'), notice: { kind: 'error', text: t('elders.notFound', { id: request.params.elderId }) }, body: html`<p><a href="/staff/elders">${t('elders.back')}</a></p>` }), 404);
      const title = t('enrol.title.of', { name: d.name });
      // Consent first: without it there is nothing to start (the API refuses too).
      if (!registry.validConsent(d.elderId) || d.status !== 'active') {
        const why = d.status !== 'active' ? t('enrol.notActive', { status: t(`elders.status.${d.status}`) }) : t('enrol.noConsent');
        return sendPage(
          reply,
          renderPage({ ...page, title, notice: { kind: 'error', text: why }, body: html`<h1>${title}</h1><div class="actions"><a class="button" href="/staff/elders/${d.elderId}/consent" id="enrol-consent-first">${t('elders.consent.record')}</a><a class="button secondary" href="/staff/elders/${d.elderId}">${t('elders.back')}</a></div>` }),
          409,
        );
      }
      const messages = {
        feedback: Object.fromEntries(FEEDBACK.map((c) => [c, t(`enrol.feedback.${c}` as MessageKey)])),
        faceSize: t('enrol.faceSize'),
        count: t('enrol.count'),
        idPhotoAdded: t('enrol.idPhoto.added'),
        idPhotoRefused: t('enrol.idPhoto.refused'),
        done: t('enrol.done'),
        lookalike: t('enrol.lookalike'),
      };
      // JSON in a non-script type is data, not code: the CSP allows no inline script, and needs none.
      const json = JSON.stringify(messages).replace(/</g, '\\u003c');
      const manager = page.staff?.role === 'manager';
      const body = html`<h1>${title}</h1>
<script type="application/json" id="enrol-messages">${rawHtml(json)}</script>
<section class="card" id="enrol" data-elder-id="${d.elderId}" data-min="${MIN_CAPTURES}" data-max="${MAX_CAPTURES}">
  <p>${t('enrol.about', { min: MIN_CAPTURES, max: MAX_CAPTURES })}</p>
  <div class="actions"><button type="button" id="enrol-start">${t('enrol.start')}</button></div>
  <div id="enrol-steps" hidden>
    <p class="notice info" id="enrol-feedback" role="status" aria-live="polite">${t('enrol.feedback.no-frame')}</p>
    <p><strong id="enrol-count"></strong></p>
    <div class="actions"><button type="button" id="enrol-capture">${t('enrol.capture')}</button></div>
    <label for="enrol-idphoto">${t('enrol.idPhoto')}</label>
    <input type="file" id="enrol-idphoto" accept="image/jpeg,image/png"> <span id="enrol-idphoto-state"></span>
    <div class="actions"><button type="button" id="enrol-finish" disabled>${t('enrol.finish')}</button><a class="button secondary" href="/staff/elders/${d.elderId}">${t('elders.back')}</a></div>
  </div>
  <p class="notice" id="enrol-result" role="alert" hidden></p>
  <div id="enrol-lookalike" hidden>
    ${manager ? html`<p>${t('enrol.override.about')}</p><div class="actions"><button type="button" class="danger" id="enrol-override">${t('enrol.override')}</button></div>` : html`<p>${t('enrol.override.manager')}</p>`}
  </div>
</section>
<script src="/staff/assets/enrol.js" defer></script>`;
      return sendPage(reply, renderPage({ ...page, title, body }));
    },
  );
}
