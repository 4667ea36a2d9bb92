/**
 * The box health page, /staff/health (staff login): the same data as GET /api/v1/status (which
 * answers only on the box itself), in words staff can act on: cameras, face engine, outbox,
 * MQTT link, clock, disk, CPU temperature, kiosk screens and voice, version, and the subsidy
 * rules the bureau sent down in the centre's config document. Refreshes itself every 10 s
 * (staff.js, `data-refresh`).
 */
import type { FastifyInstance } from 'fastify';
import type { Translate } from '../i18n/index.ts';
import { requireRole } from '../staff-auth.ts';
import type { EdgeStatus, EdgeWebPlugin } from '../status-server.ts';
import { html, type Html } from '../../../../common/web/html.ts';
import { pageContext, renderPage, sendPage } from './layout.ts';
import { formatTime } from './staff-pages.ts';
import type { MessageKey } from '../i18n/index.ts';
import type { ConfigRule } from '../../../../common/contract.ts';
import { REVIEW_KINDS } from '../../review/review-repository.ts';

const REVIEW_PATH = '/staff/review';

export const HEALTH_PATH = '/staff/health';

export interface HealthPageOptions {
  status: () => EdgeStatus | Promise<EdgeStatus>;
  timeZone?: string;
}

export function healthWebPlugin(opts: HealthPageOptions): EdgeWebPlugin {
  return (app) => healthPage(app, opts);
}

const row = (label: string, value: Html | string | number, id?: string) => html`<tr${id ? html` id="${id}"` : ''}><th scope="row">${label}</th><td>${value}</td></tr>`;
const gb = (b: number) => (Math.round(b / 1e8) / 10).toFixed(1);
/** Fen as yuan with two decimals (500 -> 5.00): money is integer fen on the wire. */
const yuan = (fen: number) => `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;

/** The subsidy rules section: a rule per row, by category then start day (as the server sends them). */
function rulesSection(t: Translate, s: EdgeStatus, when: (iso: string) => string): Html {
  const c = s.centreConfig;
  let content: Html;
  if (!c || c.version === null) content = html`<p id="rules-none">${t('health.rules.noConfig')}</p>`;
  else {
    const caps = (r: ConfigRule) => {
      const parts = [
        r.maxPerDay !== undefined ? t('health.rules.perDay', { n: r.maxPerDay }) : '',
        r.maxMealsPerMonth !== undefined ? t('health.rules.mealsPerMonth', { n: r.maxMealsPerMonth }) : '',
        r.maxFenPerMonth !== undefined ? t('health.rules.fenPerMonth', { yuan: yuan(r.maxFenPerMonth) }) : '',
      ].filter(Boolean);
      return parts.length ? parts.join(' · ') : t('health.rules.noCap');
    };
    const table =
      c.rules.length === 0
        ? html`<p id="rules-none">${t('health.rules.none')}</p>`
        : html`<table id="rules"><thead><tr><th>${t('health.rules.category')}</th><th>${t('health.rules.meal')}</th><th>${t('health.rules.amount')}</th><th>${t('health.rules.caps')}</th><th>${t('health.rules.dates')}</th></tr></thead><tbody>
${c.rules.map(
  (r) => html`<tr data-rule="${r.id}"><td>${r.category}</td><td>${r.meal === 'any' ? t('health.rules.anyMeal') : t(`meal.${r.meal}`)}</td><td class="amount">${t('health.rules.yuan', { yuan: yuan(r.amountFen) })}</td><td>${caps(r)}</td><td>${r.effectiveTo === undefined ? t('health.rules.from', { from: r.effectiveFrom }) : t('health.rules.range', { from: r.effectiveFrom, to: r.effectiveTo })}</td></tr>`,
)}
</tbody></table>`;
    content = html`<p id="config-version"><small>${t('health.rules.version', { version: c.version, time: c.appliedAt ? when(c.appliedAt) : '–' })}</small></p>
${table}
${c.skippedRules > 0 ? html`<p class="notice error" id="rules-skipped">${t('health.rules.skipped', { n: c.skippedRules })}</p>` : ''}`;
  }
  return html`<section class="card" id="subsidy-rules"><h2>${t('health.rules')}</h2>${content}</section>`;
}

/** The catalogue's word for a state (`health.cameraState.down`), or the state itself when it has none. */
function known(t: Translate, prefix: string, value: string): string {
  try {
    return t(`${prefix}.${value}` as MessageKey);
  } catch {
    return value; // not in the catalogue: t() found no message to fill
  }
}

export function healthPage(app: FastifyInstance, opts: HealthPageOptions): void {
  const tz = opts.timeZone ?? 'Asia/Shanghai';
  app.get(HEALTH_PATH, { preValidation: requireRole('staff') }, async (request, reply) => {
    const page = pageContext(request);
    const { t, lang } = page;
    const s = await opts.status();
    const when = (iso: string | null | undefined) => (iso ? formatTime(iso, lang, tz) : t('health.never'));
    const yes = (b: boolean | undefined) => (b ? t('health.yes') : t('health.no'));

    const cameras = s.cameras ?? [];
    const cameraTable =
      cameras.length === 0
        ? html`<p id="no-camera">${t('health.camera.none')}</p>`
        : html`<table id="cameras"><thead><tr><th>${t('health.camera.id')}</th><th>${t('health.camera.state')}</th><th>${t('health.camera.fps')}</th><th>${t('health.camera.lastFrame')}</th><th class="opt">${t('health.camera.error')}</th></tr></thead><tbody>
${cameras.map(
  (c) => html`<tr data-camera="${c.id}" class="${c.state === 'down' ? 'bad' : ''}"><td>${c.id}${c.source ? html`<br><small>${c.source}</small>` : ''}</td><td>${known(t, 'health.cameraState', c.state)}</td><td>${c.fps === undefined ? '–' : c.fps.toFixed(1)}</td><td>${c.lastFrameAgeMs == null ? (c.lastFrameAt === undefined ? '–' : t('health.never')) : t('health.seconds.ago', { s: Math.round(c.lastFrameAgeMs / 1000) })}</td><td class="opt">${c.error ?? ''}</td></tr>`,
)}
</tbody></table>`;

    const voice = s.kiosk?.voice;
    // Undecided review items, the oldest first named, then the kinds there are (a link to the queue).
    const r = s.reviews;
    const reviewsValue: Html | string =
      r === undefined
        ? '–'
        : r.pending === 0
          ? '0'
          : html`<a href="${REVIEW_PATH}">${t('health.reviews.value', { pending: r.pending, oldest: when(r.oldestAt) })}</a><br><small>${REVIEW_KINDS.filter((k) => r.byKind[k] > 0)
              .map((k) => t('health.reviews.kind', { kind: t(`review.kind.${k}`), n: r.byKind[k] }))
              .join(' · ')}</small>`;
    const body = html`<h1>${t('health.title')}</h1>
<section class="card" id="verdict" data-state="${s.state}">
  <p class="notice ${s.state === 'ok' ? 'ok' : 'error'}" role="status"><strong>${s.state === 'ok' ? t('health.state.ok') : t('health.state.degraded')}</strong></p>
  ${s.problems.length ? html`<ul id="problems">${s.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ''}
  <p><small>${t('health.refreshed', { time: formatTime(new Date().toISOString(), lang, tz) })}</small></p>
</section>
<div class="grid2">
<section class="card"><h2>${t('health.box')}</h2><table class="facts">
  ${row(t('health.device'), `${s.centreId} / ${s.deviceId}`)}
  ${row(t('health.version'), s.version ?? '–', 'version')}
  ${row(t('health.started'), when(s.startedAt))}
  ${row(t('health.checkIns'), t('health.checkIns.value', { today: s.checkIns.today, total: s.checkIns.total }))}
  ${row(t('health.reviews'), reviewsValue, 'reviews')}
  ${row(t('health.disk'), s.disk ? t('health.disk.value', { free: gb(s.disk.freeBytes), total: gb(s.disk.totalBytes), percent: s.disk.totalBytes ? Math.round((100 * s.disk.freeBytes) / s.disk.totalBytes) : 0 }) : t('health.unavailable'), 'disk')}
  ${row(t('health.temperature'), s.cpuTemperatureC == null ? t('health.unavailable') : t('health.celsius', { c: s.cpuTemperatureC }), 'temperature')}
  ${row(t('health.memory'), s.rssMb === undefined ? '–' : t('health.mb', { mb: s.rssMb }))}
</table></section>
<section class="card"><h2>${t('health.engine')}</h2><table class="facts">
  ${row(t('health.engine.backend'), s.engine ? `${s.engine.backend}${s.engine.detector ? ` · ${s.engine.detector}` : ''}` : '–', 'engine')}
  ${row(t('health.engine.model'), s.model ? `${s.model.id} (${s.model.dimension}-d)` : '–', 'model')}
  ${row(t('health.engine.unknown'), s.unknown ?? 0)}
  ${row(t('health.engine.reenrol'), s.reenrolment?.elders ?? 0)}
</table></section>
<section class="card"><h2>${t('health.outbox')}</h2><table class="facts">
  ${row(t('health.outbox.pending'), s.outboxPending, 'outbox-pending')}
  ${row(t('health.outbox.oldest'), s.outboxOldestAt ? when(s.outboxOldestAt) : t('health.none'), 'outbox-oldest')}
  ${row(t('health.outbox.alarm'), yes(s.outboxAlarm), 'outbox-alarm')}
  ${row(t('health.outbox.conflicts'), s.conflicts ?? 0)}
</table></section>
<section class="card"><h2>${t('health.mqtt')}</h2><table class="facts">
  ${row(t('health.mqtt.state'), s.mqtt.connected ? t('health.mqtt.connected') : t('health.mqtt.disconnected'), 'mqtt')}
  ${row(t('health.mqtt.lastReceipt'), when(s.mqtt.lastReceiptAt))}
</table></section>
<section class="card"><h2>${t('health.clock')}</h2><table class="facts">
  ${row(t('health.clock.state'), s.clock ? known(t, 'health.clock', s.clock.state) : '–', 'clock')}
  ${s.clock?.offsetMs !== undefined ? row(t('health.clock.offset'), t('health.clock.ms', { ms: Math.round(s.clock.offsetMs) })) : ''}
  ${s.clock?.syncedAt ? row(t('health.clock.synced'), when(s.clock.syncedAt)) : ''}
  ${row(t('health.clock.held'), s.clock?.heldCheckIns ?? 0)}
</table></section>
<section class="card"><h2>${t('health.kiosk')}</h2><table class="facts">
  ${row(t('health.kiosk.clients'), s.kiosk?.clients ?? 0, 'kiosk-clients')}
  ${row(t('health.kiosk.voice'), voice ? known(t, 'health.voice', voice.state).replace('{voice}', voice.voice ?? '') : '–', 'kiosk-voice')}
</table></section>
</div>
<section class="card"><h2>${t('health.cameras')}</h2>${cameraTable}</section>
${rulesSection(t, s, when)}
<div data-refresh="10"></div>`;
    return sendPage(reply, renderPage({ ...page, title: t('health.title'), body }));
  });
}
