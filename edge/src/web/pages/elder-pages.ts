/**
 * The elder registry's staff pages (issue 12, item 2), on the staff shell (layout.ts). Forms
 * post URL-encoded bodies and answer with a page or a 303 redirect, so they work without
 * JavaScript; they call the same registry service as the JSON API (web/elder-routes.ts).
 *
 *   GET  /staff/elders                    list with search (name, id, ID-card tail) and status filter
 *   GET  /staff/elders/new                the elder form (register)     POST /staff/elders
 *   GET  /staff/elders/:elderId           the elder form (edit), status, consent, remove
 *   POST /staff/elders/:elderId           edit                          POST /staff/elders/:elderId/status
 *   POST /staff/elders/:elderId/remove    (manager)
 *   GET  /staff/elders/:elderId/consent   the consent text shown, who signed   POST (record)
 *   POST /staff/elders/:elderId/consent/withdraw
 *
 * ID-card numbers are shown masked; a manager's edit form shows the full number (they check it
 * against the card).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { maskIdNumber } from '../../../../common/id-card.ts';
import { ELDER_STATUSES, type ConsentSigner, type ElderStatus } from '../../../../common/records.ts';
import { ElderExistsError, type ElderDetails } from '../../elders/elder-repository.ts';
import { ElderInputError, ElderNotFoundError, type ElderInput, type ElderRegistry } from '../../elders/registry-service.ts';
import { registerFormBody } from '../../../../common/web/form-body.ts';
import type { MessageKey } from '../i18n/index.ts';
import { requireRole } from '../staff-auth.ts';
import { html, type Html } from '../../../../common/web/html.ts';
import { csrfField, pageContext, renderPage, sendPage, type PageContext } from './layout.ts';

const Form = Type.Record(Type.String(), Type.String());
type FormBody = Record<string, string>;
const ElderIdParam = Type.Object({ elderId: Type.String({ pattern: ID_PATTERN }) });
type Notice = { kind: 'ok' | 'error' | 'info'; text: string };

/** A consent text's Markdown as the page shows it: headings, paragraphs, list items, bold. */
export function consentTextHtml(markdown: string): Html {
  const inline = (s: string): Html => html`${s.split(/\*\*(.+?)\*\*/g).map((part, i) => (i % 2 ? html`<strong>${part}</strong>` : html`${part}`))}`;
  const blocks = markdown.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  return html`${blocks.map((b) => {
    if (b.startsWith('# ')) return html`<h2>${inline(b.slice(2))}</h2>`;
    const lines = b.split('\n');
    if (lines.every((l) => /^\d+\.\s/.test(l))) return html`<ol>${lines.map((l) => html`<li>${inline(l.replace(/^\d+\.\s/, ''))}</li>`)}</ol>`;
    return html`<p>${inline(b.replace(/\n/g, ' '))}</p>`;
  })}`;
}

export function elderPages(app: FastifyInstance, registry: ElderRegistry): void {
  registerFormBody(app);
  const staffOnly = { preValidation: requireRole('staff') };

  const statusText = (page: PageContext, s: ElderStatus) => page.t(`elders.status.${s}`);
  const consentText = (page: PageContext, d: ElderDetails) =>
    d.consent
      ? page.t(d.consent.signedBy === 'guardian' ? 'elders.consent.byGuardian' : 'elders.consent.byElder', { date: d.consent.signedOn, name: d.consent.guardianName ?? '' })
      : page.t('elders.consent.none');

  const listPage = (page: PageContext, q: string, status: ElderStatus | '', notice?: Notice) => {
    const t = page.t;
    const { elders, total } = registry.search({ ...(q ? { query: q } : {}), ...(status ? { status } : {}), limit: 200, offset: 0 });
    const body = html`<h1>${t('elders.title')}</h1>
<form method="get" action="/staff/elders" class="card" id="elder-search" role="search">
  <div class="grid2">
    <div><label for="q">${t('elders.search')}</label><input id="q" name="q" value="${q}" maxlength="64" placeholder="${t('elders.search.hint')}"></div>
    <div><label for="status">${t('elders.status')}</label><select id="status" name="status">
      <option value="">${t('elders.status.all')}</option>
      ${ELDER_STATUSES.map((s) => html`<option value="${s}"${s === status ? html` selected` : ''}>${statusText(page, s)}</option>`)}
    </select></div>
  </div>
  <div class="actions"><button type="submit">${t('elders.search.submit')}</button><a class="button secondary" href="/staff/elders/new" id="elder-new">${t('elders.new')}</a></div>
</form>
<section class="card">
<p>${t('elders.count', { n: total })}</p>
<table id="elder-list">
<thead><tr><th>${t('elders.id')}</th><th>${t('elders.name')}</th><th class="opt">${t('elders.idNumber')}</th><th class="opt">${t('elders.category')}</th><th>${t('elders.status')}</th><th>${t('elders.consent')}</th><th class="opt">${t('elders.templates')}</th></tr></thead>
<tbody>
${elders.map(
  (e) => html`<tr data-elder-id="${e.elderId}">
  <td><a href="/staff/elders/${e.elderId}">${e.elderId}</a></td><td><a href="/staff/elders/${e.elderId}">${e.name}</a></td>
  <td class="opt">${e.idNumber ? maskIdNumber(e.idNumber) : ''}</td><td class="opt">${e.category ?? ''}</td>
  <td>${statusText(page, e.status)}</td><td>${e.consent ? t('elders.consent.yes') : html`<a href="/staff/elders/${e.elderId}/consent">${t('elders.consent.no')}</a>`}</td><td class="opt">${e.templateCount}</td>
</tr>`,
)}
</tbody>
</table>
</section>`;
    return renderPage({ ...page, title: t('elders.title'), notice, body });
  };

  const formFields = (page: PageContext, v: ElderInput, showFullId: boolean) => {
    const t = page.t;
    return html`<div class="grid2">
  <div><label for="name">${t('elders.name')}</label><input id="name" name="name" required maxlength="100" value="${v.name ?? ''}"></div>
  <div><label for="idNumber">${t('elders.idNumber')}</label><input id="idNumber" name="idNumber" maxlength="40" inputmode="numeric" autocomplete="off" value="${showFullId ? (v.idNumber ?? '') : ''}" placeholder="${!showFullId && v.idNumber ? maskIdNumber(v.idNumber) : t('elders.idNumber.hint')}"></div>
  <div><label for="phone">${t('elders.phone')}</label><input id="phone" name="phone" type="tel" maxlength="40" value="${v.phone ?? ''}"></div>
  <div><label for="category">${t('elders.category')}</label><select id="category" name="category">
    <option value="">${t('elders.category.none')}</option>
    ${registry.categories.map((c) => html`<option value="${c}"${c === v.category ? html` selected` : ''}>${c}</option>`)}
  </select></div>
</div>`;
  };

  const newPage = (page: PageContext, v: ElderInput, notice?: Notice) =>
    renderPage({
      ...page,
      title: page.t('elders.new'),
      notice,
      body: html`<section class="card">
<h1>${page.t('elders.new')}</h1>
<form method="post" action="/staff/elders" id="elder-form">
  ${csrfField(page)}
  <label for="elderId">${page.t('elders.id')}</label><input id="elderId" name="elderId" maxlength="64" value="${v.elderId ?? ''}" placeholder="${page.t('elders.id.hint')}">
  ${formFields(page, v, true)}
  <div class="actions"><button type="submit">${page.t('elders.save')}</button><a class="button secondary" href="/staff/elders">${page.t('elders.back')}</a></div>
</form>
</section>`,
    });

  const editPage = (page: PageContext, d: ElderDetails, notice?: Notice, v?: ElderInput) => {
    const t = page.t;
    const manager = page.staff?.role === 'manager';
    // The bureau's decision wins: no button offers a status against it.
    const others = d.bureau ? [] : ELDER_STATUSES.filter((s) => s !== d.status);
    const body = html`<h1>${d.name} <small>${d.elderId}</small></h1>
<section class="card" id="elder-summary">
  ${d.bureau ? html`<p class="notice" id="elder-bureau">${t('elders.bureau', { status: statusText(page, d.bureau.status), since: d.bureau.since })}</p>` : ''}
  <p>${t('elders.status')}: <strong id="elder-status">${statusText(page, d.status)}</strong> · ${t('elders.consent')}: <strong id="elder-consent">${consentText(page, d)}</strong> · ${t('elders.templates')}: <strong>${d.templateCount}</strong></p>
  <div class="actions">
    ${d.consent && d.status === 'active' ? html`<a class="button" href="/staff/elders/${d.elderId}/enrol" id="elder-enrol-link">${t('enrol.link')}</a>` : ''}
    <a class="button secondary" href="/staff/elders/${d.elderId}/consent" id="elder-consent-link">${d.consent ? t('elders.consent.again') : t('elders.consent.record')}</a>
    ${others.map(
      (s) => html`<form method="post" action="/staff/elders/${d.elderId}/status">${csrfField(page)}<input type="hidden" name="status" value="${s}"><button type="submit" class="secondary" id="status-${s}">${t(`elders.setStatus.${s}`)}</button></form>`,
    )}
  </div>
</section>
<section class="card">
<h2>${t('elders.edit')}</h2>
<form method="post" action="/staff/elders/${d.elderId}" id="elder-form">
  ${csrfField(page)}
  ${formFields(page, v ?? d, manager)}
  <div class="actions"><button type="submit">${t('elders.save')}</button><a class="button secondary" href="/staff/elders">${t('elders.back')}</a></div>
</form>
</section>
${manager
  ? html`<section class="card"><h2>${t('elders.remove')}</h2><p>${t('elders.remove.about')}</p>
<form method="post" action="/staff/elders/${d.elderId}/remove" data-confirm="${t('elders.remove.confirm', { name: d.name, id: d.elderId })}">${csrfField(page)}<button type="submit" class="danger" id="elder-remove">${t('elders.remove')}</button></form></section>`
  : ''}`;
    return renderPage({ ...page, title: d.name, notice, body });
  };

  const consentPage = (page: PageContext, d: ElderDetails, notice?: Notice, v: { signedBy?: string; guardianName?: string; signedOn?: string } = {}) => {
    const t = page.t;
    const version = registry.consentTexts.current();
    const text = registry.consentTexts.get(version, page.lang)!;
    const signedBy = v.signedBy === 'guardian' ? 'guardian' : 'elder';
    const body = html`<h1>${t('elders.consent.title', { name: d.name })}</h1>
${d.consent ? html`<p class="notice info">${t('elders.consent.current', { text: consentText(page, d), version: d.consent.textVersion })}</p>` : ''}
<section class="card consent-text" id="consent-text" lang="${text.lang}">${consentTextHtml(text.text)}<p><small>${t('elders.consent.version', { version })}</small></p></section>
<section class="card">
<form method="post" action="/staff/elders/${d.elderId}/consent" id="consent-form">
  ${csrfField(page)}
  <input type="hidden" name="textVersion" value="${version}">
  <fieldset><legend>${t('elders.consent.signedBy')}</legend>
    <label><input type="radio" name="signedBy" value="elder" id="signed-elder"${signedBy === 'elder' ? html` checked` : ''}> ${t('elders.consent.elder', { name: d.name })}</label>
    <label><input type="radio" name="signedBy" value="guardian" id="signed-guardian"${signedBy === 'guardian' ? html` checked` : ''}> ${t('elders.consent.guardian')}</label>
  </fieldset>
  <label for="guardianName">${t('elders.consent.guardianName')}</label><input id="guardianName" name="guardianName" maxlength="100" value="${v.guardianName ?? ''}">
  <label for="signedOn">${t('elders.consent.signedOn')}</label><input id="signedOn" name="signedOn" type="date" value="${v.signedOn ?? ''}">
  <div class="actions"><button type="submit" id="consent-submit">${t('elders.consent.submit')}</button><a class="button secondary" href="/staff/elders/${d.elderId}">${t('elders.back')}</a></div>
</form>
${d.consent
  ? html`<form method="post" action="/staff/elders/${d.elderId}/consent/withdraw" data-confirm="${t('elders.consent.withdraw.confirm', { name: d.name })}">${csrfField(page)}<div class="actions"><button type="submit" class="danger" id="consent-withdraw">${t('elders.consent.withdraw')}</button></div></form>`
  : ''}
</section>`;
    return renderPage({ ...page, title: t('elders.consent.title', { name: d.name }), notice, body });
  };

  /** A registry error as the page shows it, or undefined for anything else (a 500). */
  const problemOf = (page: PageContext, err: unknown): Notice | undefined => {
    if (err instanceof ElderInputError) return { kind: 'error', text: page.t('elders.invalid', { problems: err.issues.map((i) => page.t(`elders.problem.${i.code}` as MessageKey, i.params)).join('；') }) };
    if (err instanceof ElderExistsError) return { kind: 'error', text: page.t(err.field === 'elderId' ? 'elders.exists.elderId' : 'elders.exists.idNumber', { id: err.existingElderId }) };
    return undefined;
  };
  const notFound = (reply: FastifyReply, page: PageContext, elderId: string) =>
    sendPage(reply, renderPage({ ...page, title: page.t('elders.title'), notice: { kind: 'error', text: page.t('elders.notFound', { id: elderId }) }, body: html`<p><a href="/staff/elders">${page.t('elders.back')}</a></p>` }), 404);
  const inputOf = (b: FormBody): Omit<ElderInput, 'elderId'> => ({ name: b.name ?? '', idNumber: b.idNumber ?? '', phone: b.phone ?? '', category: b.category ?? '' });
  const flash: Record<string, string> = { created: 'elders.saved.created', saved: 'elders.saved', consent: 'elders.saved.consent', status: 'elders.saved.status', removed: 'elders.saved.removed', withdrawn: 'elders.saved.withdrawn' };
  const noticeOf = (page: PageContext, done: string | undefined): Notice | undefined => (done && flash[done] ? { kind: 'ok', text: page.t(flash[done] as never) } : undefined);

  app.get<{ Querystring: { q?: string; status?: string; done?: string } }>('/staff/elders', staffOnly, async (request, reply) => {
    const page = pageContext(request);
    const status = (ELDER_STATUSES as readonly string[]).includes(request.query.status ?? '') ? (request.query.status as ElderStatus) : '';
    return sendPage(reply, listPage(page, (request.query.q ?? '').slice(0, 64), status, noticeOf(page, request.query.done)));
  });

  app.get('/staff/elders/new', staffOnly, async (request, reply) => sendPage(reply, newPage(pageContext(request), {})));

  app.post<{ Body: FormBody }>('/staff/elders', { ...staffOnly, schema: { body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    const b = request.body;
    const input: ElderInput = { ...inputOf(b), ...(b.elderId?.trim() ? { elderId: b.elderId.trim() } : {}) };
    // A new elder has nothing to clear: '' means "not given".
    for (const k of ['idNumber', 'phone', 'category'] as const) if (input[k] === '') delete input[k];
    try {
      const d = registry.create(input, page.staff!.staffId);
      // Next, the consent: no face is enrolled without it.
      return reply.redirect(`/staff/elders/${d.elderId}/consent?done=created`, 303);
    } catch (err) {
      const notice = problemOf(page, err);
      if (!notice) throw err;
      return sendPage(reply, newPage(page, input, notice), 400);
    }
  });

  app.get<{ Params: { elderId: string }; Querystring: { done?: string } }>('/staff/elders/:elderId', { ...staffOnly, schema: { params: ElderIdParam } }, async (request, reply) => {
    const page = pageContext(request);
    const d = registry.get(request.params.elderId);
    if (!d) return notFound(reply, page, request.params.elderId);
    return sendPage(reply, editPage(page, d, noticeOf(page, request.query.done)));
  });

  app.post<{ Params: { elderId: string }; Body: FormBody }>('/staff/elders/:elderId', { ...staffOnly, schema: { params: ElderIdParam, body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    const { elderId } = request.params;
    const input = inputOf(request.body);
    // Staff see the ID number masked and leave the field empty: that keeps it.
    if (page.staff!.role !== 'manager' && input.idNumber === '') delete input.idNumber;
    try {
      registry.update(elderId, input, page.staff!.staffId);
      return reply.redirect(`/staff/elders/${elderId}?done=saved`, 303);
    } catch (err) {
      if (err instanceof ElderNotFoundError) return notFound(reply, page, elderId);
      const notice = problemOf(page, err);
      if (!notice) throw err;
      return sendPage(reply, editPage(page, registry.get(elderId)!, notice, input), 400);
    }
  });

  app.post<{ Params: { elderId: string }; Body: FormBody }>('/staff/elders/:elderId/status', { ...staffOnly, schema: { params: ElderIdParam, body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    const { elderId } = request.params;
    try {
      registry.setStatus(elderId, (request.body.status ?? '') as ElderStatus, page.staff!.staffId);
      return reply.redirect(`/staff/elders/${elderId}?done=status`, 303);
    } catch (err) {
      if (err instanceof ElderNotFoundError) return notFound(reply, page, elderId);
      const notice = problemOf(page, err);
      if (!notice) throw err;
      return sendPage(reply, editPage(page, registry.get(elderId)!, notice), 400);
    }
  });

  app.post<{ Params: { elderId: string } }>('/staff/elders/:elderId/remove', { preValidation: requireRole('manager'), schema: { params: ElderIdParam } }, async (request, reply) => {
    const page = pageContext(request);
    try {
      registry.remove(request.params.elderId, page.staff!.staffId);
    } catch (err) {
      if (err instanceof ElderNotFoundError) return notFound(reply, page, request.params.elderId);
      throw err;
    }
    return reply.redirect('/staff/elders?done=removed', 303);
  });

  app.get<{ Params: { elderId: string }; Querystring: { done?: string } }>('/staff/elders/:elderId/consent', { ...staffOnly, schema: { params: ElderIdParam } }, async (request, reply) => {
    const page = pageContext(request);
    const d = registry.get(request.params.elderId);
    if (!d) return notFound(reply, page, request.params.elderId);
    return sendPage(reply, consentPage(page, d, noticeOf(page, request.query.done)));
  });

  app.post<{ Params: { elderId: string }; Body: FormBody }>('/staff/elders/:elderId/consent', { ...staffOnly, schema: { params: ElderIdParam, body: Form } }, async (request, reply) => {
    const page = pageContext(request);
    const { elderId } = request.params;
    const b = request.body;
    const v = { signedBy: b.signedBy ?? '', guardianName: b.guardianName ?? '', signedOn: b.signedOn ?? '' };
    try {
      registry.recordConsent(
        elderId,
        {
          signedBy: v.signedBy as ConsentSigner,
          ...(b.textVersion ? { textVersion: b.textVersion } : {}),
          ...(v.guardianName.trim() ? { guardianName: v.guardianName } : {}),
          ...(v.signedOn ? { signedOn: v.signedOn } : {}),
        },
        page.staff!.staffId,
      );
      return reply.redirect(`/staff/elders/${elderId}?done=consent`, 303);
    } catch (err) {
      if (err instanceof ElderNotFoundError) return notFound(reply, page, elderId);
      const notice = problemOf(page, err);
      if (!notice) throw err;
      return sendPage(reply, consentPage(page, registry.get(elderId)!, notice, v), 400);
    }
  });

  app.post<{ Params: { elderId: string } }>('/staff/elders/:elderId/consent/withdraw', { ...staffOnly, schema: { params: ElderIdParam } }, async (request, reply) => {
    const page = pageContext(request);
    const { elderId } = request.params;
    try {
      registry.withdrawConsent(elderId, page.staff!.staffId);
      return reply.redirect(`/staff/elders/${elderId}?done=withdrawn`, 303);
    } catch (err) {
      if (err instanceof ElderNotFoundError) return notFound(reply, page, elderId);
      const notice = problemOf(page, err);
      if (!notice) throw err;
      return sendPage(reply, consentPage(page, registry.get(elderId)!, notice), 400);
    }
  });
}
