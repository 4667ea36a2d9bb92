/**
 * The printable settlement pages, rendered on the server (no CDN; the one script, the bureau pages' common.js, runs the print button): a centre's month
 * (`/bureau/settlement?centreId=&month=`) and the city-wide summary
 * (`/bureau/settlement/summary?month=`). zh-CN by default, `lang=en`. The same service and
 * table as the exports, so the page, the CSV and the XLSX cannot disagree. Print CSS: A4
 * landscape, the header row repeated on each page, no buttons on paper.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../../common/contract.ts';
import { html, rawHtml, type Html } from '../../../common/web/html.ts';
import { canSeeCentre, READ_CENTRES, visibleCentres } from '../modules/settlement/access.ts';
import { yuan } from '../modules/settlement/settlement-calc.ts';
import { settlementTable, summaryTable, type Table } from '../modules/settlement/settlement-export.ts';
import type { SettlementReport, SettlementService } from '../modules/settlement/settlement-service.ts';
import { ErrorSchema } from '../schemas.ts';
import { translator, type Lang, type Translate } from './i18n/index.ts';

const CSS = `
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; font-size: 14px; color: #111; margin: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 20px 0 6px; }
.meta { color: #333; margin-bottom: 12px; } .warn { color: #8a1c00; font-weight: bold; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #555; padding: 3px 6px; }
th { background: #e8e8e8; } td.n { text-align: right; font-variant-numeric: tabular-nums; } tr.total td { font-weight: bold; background: #f4f4f4; }
button { font-size: 16px; padding: 6px 16px; }
@media print { @page { size: A4 landscape; margin: 12mm; } body { margin: 0; font-size: 11px; } .no-print { display: none; } thead { display: table-header-group; } tr { page-break-inside: avoid; } }
`;

function cellHtml(c: Table['rows'][number][number]): Html {
  if (typeof c === 'object') return html`<td class="n">${yuan(c.fen)}</td>`;
  return typeof c === 'number' ? html`<td class="n">${c}</td>` : html`<td>${c}</td>`;
}

function tableHtml(table: Table): Html {
  return html`<table><thead><tr>${table.header.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${table.rows.map((r, i) => html`<tr${table.totalRows.includes(i) ? rawHtml(' class="total"') : ''}>${r.map(cellHtml)}</tr>`)}</tbody></table>`;
}

function page(lang: Lang, title: string, body: Html): string {
  return `<!doctype html>${html`<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title><style>${rawHtml(CSS)}</style><script src="/bureau/assets/common.js" defer></script></head><body>${body}</body></html>`}`;
}

function statusLine(t: Translate, status: 'open' | 'closed', closedAt: string | null): string {
  return status === 'open' ? t('settlement.status.open') : t('settlement.status.closed', { at: closedAt ?? '' });
}

function details(r: SettlementReport, t: Translate): Html {
  const unsub = r.elders.flatMap((e) => e.unsubsidised.map((u) => ({ ...u, elderId: e.elderId, name: e.name ?? '' })));
  const voided = r.elders.flatMap((e) => e.voided.map((v) => ({ ...v, elderId: e.elderId, name: e.name ?? '' })));
  const head = (...keys: Parameters<Translate>[0][]) => html`<thead><tr>${keys.map((k) => html`<th>${t(k)}</th>`)}</tr></thead>`;
  return html`
    ${unsub.length ? html`<h2>${t('settlement.unsubsidisedTitle')}</h2><table>${head('settlement.col.elderId', 'settlement.col.name', 'settlement.col.date', 'settlement.col.meal', 'settlement.col.reason')}<tbody>${unsub.map((u) => html`<tr><td>${u.elderId}</td><td>${u.name}</td><td>${u.serviceDate}</td><td>${t(`settlement.meal.${u.meal}`)}</td><td>${t(`settlement.reason.${u.reason}`)}</td></tr>`)}</tbody></table>` : ''}
    ${voided.length ? html`<h2>${t('settlement.voidedTitle')}</h2><table>${head('settlement.col.elderId', 'settlement.col.name', 'settlement.col.date', 'settlement.col.meal')}<tbody>${voided.map((v) => html`<tr><td>${v.elderId}</td><td>${v.name}</td><td>${v.serviceDate}</td><td>${t(`settlement.meal.${v.meal}`)}</td></tr>`)}</tbody></table>` : ''}
    ${r.adjustments.length ? html`<h2>${t('settlement.adjustmentsTitle')}</h2><table>${head('settlement.col.elderId', 'settlement.col.adjustment', 'settlement.col.reason', 'settlement.col.by')}<tbody>${r.adjustments.map((a) => html`<tr><td>${a.elderId ?? ''}</td><td class="n">${yuan(a.amountFen)}</td><td>${a.reason}</td><td>${a.createdBy} ${a.createdAt}</td></tr>`)}</tbody></table>` : ''}`;
}

const Lang = Type.Optional(Type.Union([Type.Literal('zh-CN'), Type.Literal('en')]));
const CentreQuery = Type.Object({ centreId: Type.String({ pattern: ID_PATTERN }), month: Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' }), lang: Lang }, { additionalProperties: false });
const SummaryQuery = Type.Object({ month: Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' }), lang: Lang }, { additionalProperties: false });
/** Like the API's READ_CENTRES, as a page: a browser without a session is sent to sign in. */
const PAGE_READ_CENTRES = { access: { ...READ_CENTRES.access, page: true } };
const PageErrors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 500: ErrorSchema } as const;

export interface SettlementPageOptions {
  settlement: SettlementService;
  now: () => Date;
}

export const settlementPages: FastifyPluginAsync<SettlementPageOptions> = async (app, { settlement, now }) => {
  app.get<{ Querystring: Static<typeof CentreQuery> }>(
    '/bureau/settlement',
    { config: PAGE_READ_CENTRES, schema: { description: "A centre's monthly settlement as a printable page", querystring: CentreQuery, response: { 200: Type.String(), ...PageErrors } } },
    async (request, reply) => {
      const { centreId, month, lang = 'zh-CN' } = request.query;
      if (!canSeeCentre(request, centreId)) return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: `centre ${centreId} is not yours` });
      const t = translator(lang);
      const r = settlement.report(centreId, month);
      const table = settlementTable(r, t);
      const snap = r.snapshot && !r.snapshot.matches ? html`<p class="warn">${t('settlement.snapshot.changed', { total: yuan(r.snapshot.totals.totalFen) })}</p>` : r.snapshot ? html`<p>${t('settlement.snapshot.same')}</p>` : '';
      const body = html`<p class="no-print"><a href="/bureau/">${t('bureau.nav.dashboard')}</a> <button type="button" data-print>${t('settlement.print')}</button></p>
        <h1>${table.title}</h1><p class="meta">${statusLine(t, r.status, r.closedAt)} · ${t('settlement.generated', { at: now().toISOString() })}</p>${snap}
        ${tableHtml(table)}${details(r, t)}`;
      return reply.type('text/html; charset=utf-8').send(page(lang, table.title, body));
    },
  );

  app.get<{ Querystring: Static<typeof SummaryQuery> }>(
    '/bureau/settlement/summary',
    { config: PAGE_READ_CENTRES, schema: { description: "The month's totals per centre as a printable page", querystring: SummaryQuery, response: { 200: Type.String(), ...PageErrors } } },
    async (request, reply) => {
      const { month, lang = 'zh-CN' } = request.query;
      const t = translator(lang);
      const s = settlement.summary(month, visibleCentres(request));
      const table = summaryTable(s, t);
      const body = html`<p class="no-print"><a href="/bureau/">${t('bureau.nav.dashboard')}</a> <button type="button" data-print>${t('settlement.print')}</button></p>
        <h1>${table.title}</h1><p class="meta">${statusLine(t, s.status, s.closedAt)} · ${t('settlement.generated', { at: now().toISOString() })}</p>${tableHtml(table)}`;
      return reply.type('text/html; charset=utf-8').send(page(lang, table.title, body));
    },
  );
};
