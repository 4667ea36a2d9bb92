/**
 * The edge's HTTP server: `GET /api/v1/status` for the kiosk and health checks, `/health`,
 * `/api/v1/confirmations` where staff confirm or reject face check-ins held for a low anti-spoof
 * score, and the features' routes and pages (`plugins`: staff login, elders, meals by hand).
 * It listens on 127.0.0.1, and also on the LAN address of `--staff-host` when set, so tablets
 * reach the staff pages (one port for both). The status and confirmation routes stay for this
 * box only: they answer only to a peer on the loopback interface (the socket's address, which a
 * client cannot forge, unlike a Host header); staff on the LAN use the pages, behind login. The composition root passes functions that supply
 * live figures and decisions, so this module knows nothing of SQLite, MQTT or the pipeline.
 */
import { Type, type Static, type TInteger, type TObject } from '@sinclair/typebox';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { CHECK_IN_METHODS, ConfigRuleSchema, ID_PATTERN, MEALS, type Meal } from '../../../common/contract.ts';
import type { MealTally } from '../meals/check-in-repository.ts';
import type { Logger } from '../../../common/logger.ts';
import { CONFIRMATION_STATUSES, type ConfirmationResult } from '../meals/check-in.ts';
import type { CheckInService } from '../meals/check-in-service.ts';
import { REVIEW_KINDS, type ReviewKind, type ReviewSummary } from '../review/review-repository.ts';

const Iso = Type.String({ maxLength: 40 });

/** One integer per review kind, every kind required (built from REVIEW_KINDS, so a new kind is in it). */
const ReviewsByKindSchema = Type.Object(Object.fromEntries(REVIEW_KINDS.map((k) => [k, Type.Integer()]))) as TObject<Record<ReviewKind, TInteger>>;

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
  /** `degraded` when something staff or monitoring should act on is wrong; `problems` says what. */
  state: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  /** One sentence per problem, e.g. `camera door: cannot open /dev/video9: No such file or directory`; empty when ok. */
  problems: Type.Array(Type.String()),
  checkIns: Type.Object({
    /** Today's service date at the centre, YYYY-MM-DD. */
    serviceDate: Type.String(),
    /** Check-ins recorded on this box today (centre's local date). */
    today: Type.Integer(),
    /** Check-ins recorded on this box, ever. */
    total: Type.Integer(),
    /** Of today's, meals staff recorded by hand: the face failed, taken home, collected by someone (issue 12). */
    manual: Type.Optional(Type.Integer()),
    delivery: Type.Optional(Type.Integer()),
    proxy: Type.Optional(Type.Integer()),
    /** Today's check-ins staff voided (not in `today`). */
    voided: Type.Optional(Type.Integer()),
  }),
  /** Meal events waiting for the server's receipt. */
  outboxPending: Type.Integer(),
  /** True while the outbox holds more than its alarm threshold: the box has not delivered for a long time. */
  outboxAlarm: Type.Optional(Type.Boolean()),
  /**
   * Check-ins the server refused as conflicts, ever: it already had their eventId with other
   * content (kept for review there, not counted). Should stay 0; anything else is a bug to report.
   */
  conflicts: Type.Optional(Type.Integer()),
  mqtt: Type.Object({ connected: Type.Boolean(), lastReceiptAt: Type.Union([Iso, Type.Null()]) }),
  engine: Type.Optional(Type.Object({ backend: Type.String(), detector: Type.Optional(Type.String()) })),
  /** The recognizer the door matches with: only templates of this model are loaded. */
  model: Type.Optional(Type.Object({ id: Type.String(), dimension: Type.Integer() })),
  /**
   * Elders enrolled here with no template of `model` (after a model change): the door cannot
   * recognise them until they are enrolled again. `ids` holds the first 50, by id.
   */
  reenrolment: Type.Optional(Type.Object({ elders: Type.Integer(), ids: Type.Array(Type.String()) })),
  /** Face templates at rest: sealed under the key file; `problem` when it is missing or wrong (nobody is recognised). */
  templates: Type.Optional(Type.Object({ sealed: Type.Boolean(), keyFile: Type.String(), problem: Type.Optional(Type.String()) })),
  cameras: Type.Optional(Type.Array(CameraStatusSchema)),
  /** Faces seen but not recognised since start. */
  unknown: Type.Optional(Type.Integer()),
  /** Face check-ins held for staff (low anti-spoof score), waiting for a decision. */
  pendingConfirmations: Type.Optional(Type.Integer()),
  /**
   * The review queue (review/review-service.ts): faces the door was unsure of, not yet decided
   * by staff: how many, when the oldest was at the door (null when none), and how many of each
   * kind (`unknown`, `margin`, `antispoof`, `clock`; every kind present).
   */
  reviews: Type.Optional(
    Type.Object({
      pending: Type.Integer(),
      oldestAt: Type.Union([Iso, Type.Null()]),
      byKind: ReviewsByKindSchema,
    }),
  ),
  /**
   * Where the box's time comes from (edge/src/clock/trusted-clock.ts): `server` (learnt over
   * MQTT), `system` (plausible system clock) or `untrusted` (check-ins are then recorded but
   * held, `heldCheckIns`, until the server tells the time).
   */
  clock: Type.Optional(
    Type.Object({
      state: Type.Union([Type.Literal('server'), Type.Literal('system'), Type.Literal('untrusted')]),
      offsetMs: Type.Optional(Type.Number()),
      rttMs: Type.Optional(Type.Number()),
      syncedAt: Type.Optional(Iso),
      floor: Iso,
      heldCheckIns: Type.Integer(),
    }),
  ),
  /** Oldest event in the outbox (its recording time), null when it is empty. */
  outboxOldestAt: Type.Optional(Type.Union([Iso, Type.Null()])),
  /** The kiosk pages (web/kiosk-routes.ts): screens connected to the stream, and the box's voice. */
  kiosk: Type.Optional(
    Type.Object({
      clients: Type.Integer(),
      voice: Type.Object({
        engine: Type.String(),
        voice: Type.Union([Type.String(), Type.Null()]),
        /** `ready`, `starting`, `off` (--kiosk-voice off), `missing` (espeak-ng not installed) or `failed`. */
        state: Type.String(),
        error: Type.Optional(Type.String()),
        /** Phrases in the audio cache. */
        cached: Type.Integer(),
      }),
    }),
  ),
  /** Free space where the edge keeps its database (`--data`). */
  disk: Type.Optional(Type.Object({ path: Type.String(), freeBytes: Type.Integer(), totalBytes: Type.Integer() })),
  /** The CPU's temperature, °C, where the board exposes it (/sys/class/thermal); null where not. */
  cpuTemperatureC: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  /**
   * The centre's config document from the server (edge/src/bureau/): its version, when it came,
   * and the subsidy rules in it this box can read (`skippedRules`: items of a later format).
   */
  centreConfig: Type.Optional(
    Type.Object({
      version: Type.Union([Type.Integer(), Type.Null()]),
      appliedAt: Type.Union([Iso, Type.Null()]),
      rules: Type.Array(ConfigRuleSchema),
      skippedRules: Type.Integer(),
    }),
  ),
  /** The program and its version (package.json). */
  version: Type.Optional(Type.String()),
  /** Resident memory of the edge process (main thread, model worker and native memory), MB. */
  rssMb: Type.Optional(Type.Integer()),
  startedAt: Iso,
});
export type EdgeStatus = Static<typeof EdgeStatusSchema>;

/** `GET /health`: the status's verdict alone, for monitoring. */
export const EdgeHealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  problems: Type.Array(Type.String()),
});
export type EdgeHealth = Static<typeof EdgeHealthSchema>;

/**
 * What is wrong, in words staff can act on, read off the status itself (so /health and
 * /api/v1/status cannot disagree). Only what a person can fix: a camera down, no camera at all,
 * meals piling up undelivered, a clock the edge cannot trust. A broker that is merely
 * unreachable is not one: the edge is built to work offline, and the outbox alarm says when it
 * has been offline too long.
 */
/** Below this free space the status says so: a day of meals is a few MB, but logs and updates need room. */
export const LOW_DISK_BYTES = 512e6;
export const HOT_CPU_C = 80;

export function problemsOf(s: Omit<EdgeStatus, 'state' | 'problems'>): string[] {
  const problems: string[] = [];
  if (s.cameras) {
    if (s.cameras.length === 0) problems.push('no camera configured (--camera): recognition is off; manual check-ins and forwarding still work');
    for (const c of s.cameras) if (c.state === 'down') problems.push(`camera ${c.id}: ${c.error ?? 'down'}`);
  }
  if (s.reenrolment && s.reenrolment.elders > 0) {
    const more = s.reenrolment.elders > s.reenrolment.ids.length ? ', ...' : '';
    problems.push(`re-enrolment: ${s.reenrolment.elders} elder(s) have no face template of model ${s.model?.id ?? 'in use'} and are not recognised at the door until enrolled again (${s.reenrolment.ids.join(', ')}${more})`);
  }
  if (s.templates?.problem) problems.push(`templates: ${s.templates.problem}`);
  if (s.outboxAlarm) problems.push(`outbox: ${s.outboxPending} meals waiting for the server; check the box's network and the server`);
  if (s.kiosk?.voice.error) problems.push(s.kiosk.voice.error);
  if (s.disk && s.disk.freeBytes < LOW_DISK_BYTES) problems.push(`disk: only ${Math.round(s.disk.freeBytes / 1e6)} MB free under ${s.disk.path}; meals are still recorded, but free space before SQLite runs out`);
  if (s.cpuTemperatureC != null && s.cpuTemperatureC >= HOT_CPU_C) problems.push(`temperature: the CPU is at ${s.cpuTemperatureC} °C (a Pi slows down from 80 °C): give the box air or a heat sink`);
  if (s.clock?.state === 'untrusted') problems.push(`clock: the box's time cannot be trusted and the server has not told it yet; ${s.clock.heldCheckIns} check-in(s) held until it does (check the network to the server)`);
  return problems;
}

const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
const MealSchema = Type.Union(MEALS.map((m) => Type.Literal(m)));
const MethodSchema = Type.Union(CHECK_IN_METHODS.map((m) => Type.Literal(m)));

/** The fields of a DoorVisit (meals/check-in.ts), shared by check-ins and confirmations. */
const doorVisitFields = {
  elderId: Type.String(),
  elderName: Type.String(),
  /** Meal and service date of the moment the elder stood at the door (`at`). */
  serviceDate: Type.String(),
  meal: MealSchema,
  at: Iso,
  method: MethodSchema,
  score: Type.Optional(Type.Number()),
  cameraId: Type.Optional(Type.String()),
  antispoof: Type.Optional(Type.Number()),
};

/** A face check-in held for staff (anti-spoof), as the staff API shows it. */
export const ConfirmationSchema = Type.Object({
  id: Type.String(),
  ...doorVisitFields,
  status: Type.Union(CONFIRMATION_STATUSES.map((s) => Type.Literal(s))),
  decidedAt: Type.Optional(Iso),
  decidedBy: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  eventId: Type.Optional(Type.String()),
});

export const CheckInSchema = Type.Object({
  eventId: Type.String(),
  ...doorVisitFields,
});

const ErrorSchema = Type.Object({ error: Type.String() });
const IdParams = Type.Object({ id: Uuid });
/** Who decided: recorded with the decision for audit. */
const StaffId = Type.String({ pattern: ID_PATTERN });
const ConfirmBody = Type.Object({ staffId: StaffId }, { additionalProperties: false });
const RejectBody = Type.Object({ staffId: StaffId, reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }, { additionalProperties: false });
const ListQuery = Type.Object(
  {
    /** `pending` (default), a decided status, or `all`. */
    status: Type.Optional(Type.Union([...CONFIRMATION_STATUSES.map((s) => Type.Literal(s)), Type.Literal('all')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);

/** What the staff routes need from the check-in service. */
export type ConfirmationApi = Pick<CheckInService, 'listConfirmations' | 'getConfirmation' | 'confirm' | 'reject'>;

/**
 * Host names the staff routes answer to. The server listens on 127.0.0.1 only, but a web page
 * in a browser on the box could rebind its own DNS name to 127.0.0.1 and then post to us as
 * "same origin"; its requests carry its own name in Host, so they are refused.
 */
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** The peer is this box: the TCP connection came over loopback (not from the LAN). */
export function isLoopbackPeer(request: FastifyRequest): boolean {
  const a = request.socket.remoteAddress ?? '';
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

export interface StatusServerOptions {
  /** 0 = any free port; `port()` reports the real one after start(). */
  port: number;
  /** Defaults to 127.0.0.1: this box's pages are for the box, not the network. */
  host?: string;
  /**
   * Also listen here (same port), for the staff pages on the centre's LAN: an address of this
   * box (e.g. 192.168.1.20) or 0.0.0.0 / :: for every interface. Unset: loopback only.
   */
  lanHost?: string;
  /** Called per request, so figures are live; must be cheap. */
  status: () => EdgeStatus | Promise<EdgeStatus>;
  /** Staff decisions on held face check-ins; without it the confirmation routes are absent. */
  confirmations?: ConfirmationApi;
  /**
   * Features' routes and pages (staff login, elders, meals by hand...), each registering its own on
   * the app, in this order. They share the app's root scope (not encapsulated), so a hook one adds
   * (the staff session that sets `request.staff`) applies to the routes of those after it.
   */
  plugins?: ReadonlyArray<EdgeWebPlugin>;
  logger?: Logger;
}

/** Registers a feature's routes on the edge's HTTP app; see StatusServerOptions.plugins. */
export type EdgeWebPlugin = (app: FastifyInstance) => void | Promise<void>;

export class StatusServer {
  private app: FastifyInstance | null = null;
  private boundPort = 0;
  private loopback: HttpServer | null = null;

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
    // For the kiosk and tools on this box; /health (no personal data) is for monitoring from anywhere.
    app.get('/api/v1/status', { schema: { response: { 200: EdgeStatusSchema, 403: ErrorSchema } } }, async (request, reply) => {
      if (!isLoopbackPeer(request)) return reply.code(403).send({ error: 'the status answers only on this box (127.0.0.1); monitoring on the network reads /health' });
      return this.opts.status();
    });
    // 200 when degraded too: this is what a watchdog polls, and restarting the box does not
    // plug a camera back in; it would only interrupt manual check-ins and forwarding. Monitoring
    // reads `status`. A box that cannot answer at all (hung, crashed) is the one to restart.
    app.get('/health', { schema: { response: { 200: EdgeHealthSchema } } }, async () => {
      const s = await this.opts.status();
      return { status: s.state, problems: s.problems };
    });
    for (const plugin of this.opts.plugins ?? []) {
      const shared = async (scope: FastifyInstance) => plugin(scope);
      // What fastify-plugin does: register in the parent's scope instead of a child's.
      (shared as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
      void app.register(shared);
    }
    const confirmations = this.opts.confirmations;
    if (confirmations) void app.register(async (staff) => confirmationRoutes(staff, confirmations), { prefix: '/api/v1/confirmations' });
    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
      const code = err.statusCode ?? 500;
      if (code >= 500) app.log.error({ err }, 'request failed');
      // Fastify says only "Unsupported Media Type": say what to send instead.
      if (code === 415) return reply.code(code).send({ error: 'unsupported content-type: send the body as JSON (Content-Type: application/json)' });
      // 5xx messages may carry internals (paths, SQL): hide them.
      return reply.code(code).send({ error: code >= 500 ? 'internal error' : err.message });
    });
    this.app = app;
    return app;
  }

  async start(): Promise<void> {
    const app = this.build();
    const local = this.opts.host ?? '127.0.0.1';
    const lan = this.opts.lanHost;
    await app.listen({ host: lan ?? local, port: this.opts.port });
    const addr = app.server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : this.opts.port;
    // A wildcard LAN address covers loopback already; a specific one does not, and the kiosk
    // and the box's own tools call 127.0.0.1: a second listener hands its requests to the app.
    if (lan !== undefined && lan !== local && !WILDCARD_HOSTS.has(lan)) {
      const loopback = createHttpServer((req, res) => app.routing(req, res));
      await new Promise<void>((resolve, reject) => {
        loopback.once('error', reject);
        loopback.listen(this.boundPort, local, () => resolve());
      });
      this.loopback = loopback;
    }
  }

  /** The port actually bound (after start()). */
  port(): number {
    return this.boundPort;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = null;
    const loopback = this.loopback;
    this.loopback = null;
    // The app first: its preClose hooks end the long-lived streams (the kiosk's events), which
    // would otherwise hold the loopback listener's close() open for ever.
    if (app) await app.close();
    if (loopback)
      await new Promise<void>((resolve) => {
        loopback.close(() => resolve());
        loopback.closeIdleConnections();
      });
  }
}

/**
 * Staff decisions on face check-ins held for a low anti-spoof score. Like the status route they
 * are reachable from this box only (127.0.0.1); JSON bodies only, so a form posted by a page
 * from elsewhere is refused (415, or 400 for text/plain) before it reaches a handler.
 */
function confirmationRoutes(app: FastifyInstance, api: ConfirmationApi): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!LOCAL_HOSTS.has(request.hostname.toLowerCase()) || !isLoopbackPeer(request)) return reply.code(403).send({ error: 'these routes answer only on this box (requests from 127.0.0.1 for 127.0.0.1 or localhost); staff on the network use the staff pages' });
  });

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/',
    { schema: { querystring: ListQuery, response: { 200: Type.Object({ confirmations: Type.Array(ConfirmationSchema) }) } } },
    async (request) => {
      const status = request.query.status ?? 'pending';
      return { confirmations: api.listConfirmations(status === 'all' ? undefined : status, request.query.limit ?? 100) };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>('/:id', { schema: { params: IdParams, response: { 200: ConfirmationSchema, 404: ErrorSchema } } }, async (request, reply) => {
    const c = api.getConfirmation(request.params.id);
    return c ?? reply.code(404).send({ error: `no held check-in ${request.params.id}` });
  });

  const decided = { 200: Type.Object({ confirmation: ConfirmationSchema, checkIn: Type.Optional(CheckInSchema) }), 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 500: ErrorSchema };

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ConfirmBody> }>(
    '/:id/confirm',
    { schema: { params: IdParams, body: ConfirmBody, response: decided } },
    async (request, reply) => sendDecision(reply, api.confirm(request.params.id, request.body.staffId)),
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof RejectBody> }>(
    '/:id/reject',
    { schema: { params: IdParams, body: RejectBody, response: decided } },
    async (request, reply) => sendDecision(reply, api.reject(request.params.id, request.body.staffId, request.body.reason)),
  );
}

function sendDecision(reply: FastifyReply, r: ConfirmationResult): FastifyReply {
  switch (r.status) {
    case 'recorded':
      return reply.code(200).send({ confirmation: r.confirmation, checkIn: r.checkIn });
    case 'rejected':
      return reply.code(200).send({ confirmation: r.confirmation });
    case 'not-found':
      return reply.code(404).send({ error: `no held check-in ${r.id}` });
    case 'already-decided':
      return reply.code(409).send({ error: `held check-in ${r.confirmation.id} is already ${r.confirmation.status}${r.confirmation.decidedBy ? ` (by ${r.confirmation.decidedBy})` : ''}; a decision is made once` });
    case 'already-checked-in':
      return reply.code(409).send({ error: `${r.checkIn.elderName} already has ${r.checkIn.meal} on ${r.checkIn.serviceDate} (check-in ${r.checkIn.eventId}); nothing recorded, the held check-in is now superseded` });
    case 'not-recorded':
      // The reason may carry SQL or paths: it is in the edge's log, not in the reply.
      return reply.code(500).send({ error: 'not recorded: the edge database refused the write (see the edge log)' });
  }
}

/** Live figures from the recognition pipeline, added by the composition root. */
export type PipelineStatus = Partial<Pick<EdgeStatus, 'engine' | 'cameras' | 'unknown' | 'model' | 'reenrolment'>>;

export interface StatusSourceDeps {
  centreId: string;
  deviceId: string;
  startedAt: Date;
  checkIns: { today(): string; countForDay(serviceDate: string): number; countAll(): number; countPendingConfirmations?(): number; tallyForDay?(serviceDate: string): Record<Meal, MealTally> };
  forwarder: { stats(): { connected: boolean; pending: number; lastReceiptAt: string | null; outboxAlarm?: boolean; conflicts?: number } };
  pipeline?: () => PipelineStatus;
  clock?: () => NonNullable<EdgeStatus['clock']>;
  /** The review queue's undecided items. */
  reviews?: () => ReviewSummary;
  /** The box itself and the kiosk (disk, temperature, version, outbox age, kiosk screens and voice). */
  box?: () => BoxStatus;
}

/** Today's meals by hand and voids, summed over the day's meals. */
function staffCounts(tally: Record<Meal, MealTally> | undefined): Pick<EdgeStatus['checkIns'], 'manual' | 'delivery' | 'proxy' | 'voided'> {
  if (!tally) return {};
  const day = Object.values(tally);
  const sum = (f: (t: MealTally) => number) => day.reduce((n, t) => n + f(t), 0);
  return { manual: sum((t) => t.byMethod.manual), delivery: sum((t) => t.byMethod.delivery), proxy: sum((t) => t.byMethod.proxy), voided: sum((t) => t.voided) };
}
export type BoxStatus = Partial<Pick<EdgeStatus, 'outboxOldestAt' | 'kiosk' | 'disk' | 'cpuTemperatureC' | 'version' | 'templates'>>;

/** Builds the `status` function for StatusServer from the edge's components. */
export function statusSource(deps: StatusSourceDeps): () => EdgeStatus {
  return () => {
    const serviceDate = deps.checkIns.today();
    const f = deps.forwarder.stats();
    const s = {
      centreId: deps.centreId,
      deviceId: deps.deviceId,
      checkIns: { serviceDate, today: deps.checkIns.countForDay(serviceDate), total: deps.checkIns.countAll(), ...staffCounts(deps.checkIns.tallyForDay?.(serviceDate)) },
      outboxPending: f.pending,
      ...(f.outboxAlarm !== undefined ? { outboxAlarm: f.outboxAlarm } : {}),
      ...(f.conflicts !== undefined ? { conflicts: f.conflicts } : {}),
      mqtt: { connected: f.connected, lastReceiptAt: f.lastReceiptAt },
      ...deps.pipeline?.(),
      ...(deps.checkIns.countPendingConfirmations ? { pendingConfirmations: deps.checkIns.countPendingConfirmations() } : {}),
      ...(deps.clock ? { clock: deps.clock() } : {}),
      ...(deps.reviews ? { reviews: deps.reviews() } : {}),
      ...deps.box?.(),
      rssMb: Math.round(process.memoryUsage.rss() / 1e6),
      startedAt: deps.startedAt.toISOString(),
    };
    const problems = problemsOf(s);
    return { ...s, state: problems.length ? 'degraded' : 'ok', problems };
  };
}
