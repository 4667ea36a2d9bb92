/**
 * The kiosk's routes. Public (no login): the kiosk is a screen at the door, on this box or on
 * the centre's LAN (`--staff-host`), and shows only what the elder standing there sees.
 *
 *   GET /                       → 303 /kiosk
 *   GET /kiosk[?camera=ID]      the page (pages/kiosk-page.ts); `camera`: only that door's decisions
 *   GET /kiosk/events[?camera=ID]  text/event-stream: `hello` {tick}, then `decision` (with an
 *                               SSE id), `deciding`, and a `tick` heartbeat every 10 s
 *   GET /kiosk/audio/:id.wav    a phrase as the box says it (kiosk/kiosk-speech.ts); 404 unknown id
 *   GET /kiosk/assets/kiosk.{css,js}
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { ID_PATTERN } from '../../../common/contract.ts';
import type { KioskHub, KioskStreamMessage } from '../kiosk/kiosk-hub.ts';
import { AUDIO_ID_PATTERN, type KioskSpeech } from '../kiosk/kiosk-speech.ts';
import { translator } from './i18n/index.ts';
import { KIOSK_CSS, KIOSK_JS, renderKioskPage } from './pages/kiosk-page.ts';
import type { EdgeWebPlugin } from './status-server.ts';

export interface KioskRoutesOptions {
  hub: KioskHub;
  speech?: Pick<KioskSpeech, 'wav'>;
  timeZone: string;
  /** Seconds a decision stays on screen. */
  showSeconds: number;
  /** Heartbeat period; default 10 s (the page reconnects after 25 s of silence). */
  heartbeatMs?: number;
}

/** How long a page waits before reconnecting after the stream broke (SSE `retry`). */
const RETRY_MS = 2000;
/**
 * Open streams at most: a door or two has a screen each; the stream is public on the LAN, and
 * an endless number of them would cost the box memory and a write per decision each.
 */
export const MAX_KIOSK_STREAMS = 16;
const CAMERA_RE = new RegExp(ID_PATTERN);

export function kioskWebPlugin(opts: KioskRoutesOptions): EdgeWebPlugin {
  return (app) => kioskRoutes(app, opts);
}

export function kioskRoutes(app: FastifyInstance, opts: KioskRoutesOptions): void {
  const { hub } = opts;
  // The kiosk speaks Chinese to the elders, whatever language the staff pages are set to.
  const t = translator('zh-CN');
  const streams = new Set<ServerResponse>();

  const cameraOf = (q: unknown): string | undefined | null => {
    const c = (q as { camera?: unknown } | undefined)?.camera;
    if (c === undefined || c === '') return undefined;
    return typeof c === 'string' && CAMERA_RE.test(c) ? c : null;
  };

  app.get('/', async (_request, reply) => reply.redirect('/kiosk', 303));

  app.get('/kiosk', async (request, reply) => {
    if (cameraOf(request.query) === null) return reply.code(400).send({ error: 'camera: expected a camera id (letters, digits, _ . -), as in --camera NAME=SOURCE' });
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(renderKioskPage({ t, timeZone: opts.timeZone, showSeconds: opts.showSeconds, tick: hub.tick() }));
  });
  app.get('/kiosk/assets/kiosk.css', async (_req, reply) => reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'max-age=300').send(KIOSK_CSS));
  app.get('/kiosk/assets/kiosk.js', async (_req, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'max-age=300').send(KIOSK_JS));

  app.get('/kiosk/events', async (request, reply) => {
    const camera = cameraOf(request.query);
    if (camera === null) return reply.code(400).send({ error: 'camera: expected a camera id (letters, digits, _ . -)' });
    if (streams.size >= MAX_KIOSK_STREAMS) return reply.code(503).header('retry-after', '30').send({ error: `${MAX_KIOSK_STREAMS} kiosk screens are connected already; close one (see the box health page)` });
    const lastId = request.headers['last-event-id'];
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
      // A reverse proxy must pass each event on at once.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const send = (m: KioskStreamMessage) => {
      if (camera !== undefined && m.type !== 'tick' && m.camera !== camera) return;
      res.write(`${m.type === 'decision' ? `id: ${m.id}\n` : ''}event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`);
    };
    res.write(`retry: ${RETRY_MS}\nevent: hello\ndata: ${JSON.stringify({ tick: hub.tick() })}\n\n`);
    for (const d of hub.since(typeof lastId === 'string' ? lastId : undefined)) send(d);
    for (const c of hub.decidingCameras()) send({ type: 'deciding', camera: c, deciding: true });
    const unsubscribe = hub.subscribe(send);
    streams.add(res);
    const end = () => {
      unsubscribe();
      streams.delete(res);
    };
    res.on('close', end);
    res.on('error', end);
  });

  app.get<{ Params: { file: string } }>('/kiosk/audio/:file', async (request, reply) => {
    const m = /^(.+)\.wav$/.exec(request.params.file);
    const id = m?.[1];
    if (!id || !AUDIO_ID_PATTERN.test(id)) return reply.code(400).send({ error: 'expected /kiosk/audio/<32 hex digits>.wav' });
    const wav = await opts.speech?.wav(id);
    if (!wav) return reply.code(404).send({ error: `no audio ${id} (not a phrase of this run, or the box has no voice)` });
    // The id is a hash of the text and voice: the bytes under one id never change.
    return reply.header('content-type', 'audio/wav').header('cache-control', 'private, max-age=86400, immutable').send(wav);
  });

  const heartbeat = setInterval(() => {
    if (streams.size === 0) return;
    const tick = hub.tick();
    for (const res of streams) res.write(`event: tick\ndata: ${JSON.stringify(tick)}\n\n`);
  }, opts.heartbeatMs ?? 10_000);
  heartbeat.unref();
  // Streams never end by themselves: end them so the server can close (the pages reconnect).
  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    for (const res of streams) res.end();
    streams.clear();
  });
}
