/**
 * The edge's local HTTP server, bound to 127.0.0.1 only: `GET /api/v1/status` for the kiosk,
 * staff pages and health checks. The composition root passes a function that supplies live
 * figures, so this module knows nothing of SQLite, MQTT or the recognition pipeline.
 */
import { Type, type Static } from '@sinclair/typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../../common/logger.ts';

const Iso = Type.String({ maxLength: 40 });

export const CameraStatusSchema = Type.Object({
  id: Type.String(),
  /** `starting`, `running`, `down` (being retried), `ended` (a file or folder played out) or `stopped`. */
  state: Type.String(),
  /** `v4l2`, `stream`, `snapshot`, `file` or `folder`. */
  kind: Type.Optional(Type.String()),
  /** Device, URL (password hidden) or path. */
  source: Type.Optional(Type.String()),
  /** Frames analysed since start. */
  frames: Type.Optional(Type.Integer()),
  /** Frames received from the camera since start, and those dropped because recognition was busy. */
  received: Type.Optional(Type.Integer()),
  dropped: Type.Optional(Type.Integer()),
  /** Frames per second actually received, over the last few seconds. */
  fps: Type.Optional(Type.Number()),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  lastFrameAt: Type.Optional(Type.Union([Iso, Type.Null()])),
  /** Age of the newest frame received, ms; null before the first. */
  lastFrameAgeMs: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  /** Times the camera was reconnected after going down. */
  restarts: Type.Optional(Type.Integer()),
  /** Why it is down, or the last problem. */
  error: Type.Optional(Type.String()),
});
export type CameraStatus = Static<typeof CameraStatusSchema>;

/**
 * What `GET /api/v1/status` returns. The response schema also serialises: a field not
 * declared here never leaves the box by accident. Face data never appears here.
 */
export const EdgeStatusSchema = Type.Object({
  centreId: Type.String(),
  deviceId: Type.String(),
  checkIns: Type.Object({
    /** Today's service date at the centre, YYYY-MM-DD. */
    serviceDate: Type.String(),
    /** Check-ins recorded on this box today (centre's local date). */
    today: Type.Integer(),
    /** Check-ins recorded on this box, ever. */
    total: Type.Integer(),
  }),
  /** Meal events waiting for the server's receipt. */
  outboxPending: Type.Integer(),
  /** True while the outbox holds more than its alarm threshold: the box has not delivered for a long time. */
  outboxAlarm: Type.Optional(Type.Boolean()),
  mqtt: Type.Object({ connected: Type.Boolean(), lastReceiptAt: Type.Union([Iso, Type.Null()]) }),
  engine: Type.Optional(Type.Object({ backend: Type.String(), detector: Type.Optional(Type.String()) })),
  cameras: Type.Optional(Type.Array(CameraStatusSchema)),
  /** Faces seen but not recognised since start. */
  unknown: Type.Optional(Type.Integer()),
  startedAt: Iso,
});
export type EdgeStatus = Static<typeof EdgeStatusSchema>;

export interface StatusServerOptions {
  /** 0 = any free port; `port()` reports the real one after start(). */
  port: number;
  /** Defaults to 127.0.0.1: this box's pages are for the box, not the network. */
  host?: string;
  /** Called per request, so figures are live; must be cheap. */
  status: () => EdgeStatus | Promise<EdgeStatus>;
  logger?: Logger;
}

export class StatusServer {
  private app: FastifyInstance | null = null;
  private boundPort = 0;

  constructor(private readonly opts: StatusServerOptions) {}

  /** The app, for `inject()` in tests; built on first use, not listening until start(). */
  build(): FastifyInstance {
    if (this.app) return this.app;
    const app = Fastify({
      // pino's Logger is a FastifyBaseLogger at runtime; the declared types differ only in generics.
      loggerInstance: this.opts.logger as FastifyBaseLogger | undefined,
      // The kiosk polls status every few seconds: request lines would drown the log on a small box.
      logController: new LogController({ disableRequestLogging: true }),
    });
    app.get('/api/v1/status', { schema: { response: { 200: EdgeStatusSchema } } }, async () => this.opts.status());
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const code = err.statusCode ?? 500;
      if (code >= 500) app.log.error({ err }, 'request failed');
      // 5xx messages may carry internals (paths, SQL): hide them.
      return reply.code(code).send({ error: code >= 500 ? 'internal error' : err.message });
    });
    this.app = app;
    return app;
  }

  async start(): Promise<void> {
    const app = this.build();
    await app.listen({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port });
    const addr = app.server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  /** The port actually bound (after start()). */
  port(): number {
    return this.boundPort;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = null;
    if (app) await app.close();
  }
}

/** Live figures from the recognition pipeline, added by the composition root. */
export type PipelineStatus = Partial<Pick<EdgeStatus, 'engine' | 'cameras' | 'unknown'>>;

export interface StatusSourceDeps {
  centreId: string;
  deviceId: string;
  startedAt: Date;
  checkIns: { today(): string; countForDay(serviceDate: string): number; countAll(): number };
  forwarder: { stats(): { connected: boolean; pending: number; lastReceiptAt: string | null; outboxAlarm?: boolean } };
  pipeline?: () => PipelineStatus;
}

/** Builds the `status` function for StatusServer from the edge's components. */
export function statusSource(deps: StatusSourceDeps): () => EdgeStatus {
  return () => {
    const serviceDate = deps.checkIns.today();
    const f = deps.forwarder.stats();
    return {
      centreId: deps.centreId,
      deviceId: deps.deviceId,
      checkIns: { serviceDate, today: deps.checkIns.countForDay(serviceDate), total: deps.checkIns.countAll() },
      outboxPending: f.pending,
      ...(f.outboxAlarm !== undefined ? { outboxAlarm: f.outboxAlarm } : {}),
      mqtt: { connected: f.connected, lastReceiptAt: f.lastReceiptAt },
      ...deps.pipeline?.(),
      startedAt: deps.startedAt.toISOString(),
    };
  };
}
