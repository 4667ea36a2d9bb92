/**
 * The edge's composition root: builds every component by hand, starts them in order, and
 * stops them in reverse. Nothing here decides anything; it only wires.
 *
 *   camera ─▶ pipeline (engine in a worker, tracker, voter, matcher) ─▶ check-in service
 *          ─▶ SQLite (check-in + outbox, one transaction) ─▶ forwarder ─▶ MQTT ─▶ server
 *
 * The edge keeps recording meals when the broker or server is down: the forwarder retries
 * forever and the outbox holds the meals until their receipts arrive.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { systemClock, systemMonotonic, uuidV7Ids, type Clock, type Ids, type Monotonic } from '../../common/clock.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import type { Db } from '../../common/sqlite.ts';
import { openEdgeDatabase } from './edge-database.ts';
import type { FrameSource } from './capture/frame-source.ts';
import { isMonitored } from './capture/camera-health.ts';
import { createCameraSource } from './capture/camera-sources.ts';
import { parseCameraList } from './capture/camera-spec.ts';
import { MotionGate } from './capture/motion-gate.ts';
import type { EdgeConfig } from './config.ts';
import { createElderRepository, type ElderRepository } from './elders/elder-repository.ts';
import { TemplateWatcher } from './elders/template-watcher.ts';
import { loadConsentTexts } from './elders/consent-texts.ts';
import { createElderRegistry, type ElderRegistry } from './elders/registry-service.ts';
import { createEnrolmentWizard, type EnrolmentWizard } from './elders/enrolment-wizard.ts';
import { templateVaultOf, type TemplateVault } from './elders/template-vault.ts';
import { FrameTap } from './capture/frame-tap.ts';
import { createCheckInRepository } from './meals/check-in-repository.ts';
import { createCheckInService, type CheckInService } from './meals/check-in-service.ts';
import type { CheckInRecorder } from './meals/check-in.ts';
import { kioskMessage } from './meals/kiosk-message.ts';
import { Matcher, type TemplateSet } from './recognition/matcher.ts';
import { RecognitionPipeline, type CheckInEvent, type ReviewSink, type UnknownEvent } from './recognition/pipeline.ts';
import { createClockCorrector } from './meals/clock-correction.ts';
import { createClockRepository } from './clock/clock-repository.ts';
import { createOutboxRepository } from './sync/outbox-repository.ts';
import { Forwarder } from './sync/forwarder.ts';
import { TrustedClock } from './clock/trusted-clock.ts';
import type { FaceEngine } from './vision/face-engine.ts';
import { FaceApiEngine } from './vision/face-api-engine.ts';
import { MAX_PROGRESSIVE_FRAME_PIXELS } from './vision/image.ts';
import { createEdgeMetrics, metricsWebPlugin } from './web/edge-metrics.ts';
import { StatusServer, statusSource, type CameraStatus, type EdgeStatus } from './web/status-server.ts';
import { auditRecordOf, createAuditLog, type AuditLog } from './audit/audit-log.ts';
import { createStaffService, type StaffService } from './staff/staff-service.ts';
import { staffWebPlugins } from './web/staff-routes.ts';
import { createStaffMealService, type StaffMealService } from './meals/staff-meal-service.ts';
import { createTodayService, type TodayService } from './meals/today-service.ts';
import { mealWebPlugin } from './web/meal-routes.ts';
import { reviewWebPlugin } from './web/review-routes.ts';
import { createReviewRepository } from './review/review-repository.ts';
import { createReviewService, type ReviewService } from './review/review-service.ts';
import { createDailyCountService, type DailyCountService } from './meals/daily-count-service.ts';
import { elderWebPlugins } from './web/elder-routes.ts';
import { KIOSK_PHRASES, KioskHub } from './kiosk/kiosk-hub.ts';
import { KioskSpeech } from './kiosk/kiosk-speech.ts';
import { kioskWebPlugin } from './web/kiosk-routes.ts';
import { healthWebPlugin } from './web/pages/health-page.ts';
import { cpuTemperature, diskSpace, edgeVersion } from './web/box-probe.ts';
import { createCentreConfigRepository } from './bureau/config-repository.ts';
import { createConfigService, type ConfigService } from './bureau/config-service.ts';
import { isValidTimeZone, MealWindowError, parseMealWindows, type MealWindow } from '../../common/meal-windows.ts';
import type { CentreConfig } from '../../common/contract.ts';

export { EDGE_MIGRATIONS_DIR, openEdgeDatabase } from './edge-database.ts';

export interface EdgeDeps {
  /** Defaults to the face-api engine configured from `config`. Tests pass a fake. */
  engine?: FaceEngine;
  /** Defaults to the sources built from `config.camera` (one pipeline each). */
  source?: FrameSource;
  sources?: FrameSource[];
  /** The box's system clock (tests pass one at 1970, or days off); the edge wraps it in a TrustedClock. */
  clock?: Clock;
  /** Elapsed time within this run; default performance.now(). */
  monotonic?: Monotonic;
  ids?: Ids;
  logger?: Logger;
  /** The kiosk's speech program (default `espeak-ng`); tests pass one that does not exist. */
  speechCommand?: string;
}

export interface EdgeEvents {
  'check-in': [CheckInEvent];
  unknown: [UnknownEvent];
  /** Every camera source ended (folders or files read to the end; live cameras never end). */
  'camera-end': [];
}

/** Builds one frame source per camera of the `--camera` setting (none when unset). */
export function createFrameSources(config: EdgeConfig, logger?: Logger): FrameSource[] {
  if (!config.camera) return [];
  const size = config.cameraSize ?? { width: 640, height: 480 };
  return parseCameraList(config.camera).map((spec) =>
    createCameraSource(spec, { fps: config.fps, ...size, loop: config.cameraLoop ?? false, realtime: config.realtime ?? true, ...(logger ? { logger } : {}) }),
  );
}

/** The first camera's source (single-camera callers). */
export function createFrameSource(config: EdgeConfig): FrameSource | null {
  return createFrameSources(config)[0] ?? null;
}

/** The face engine as the edge runs it on camera frames (the benchmark builds it here too). */
export function createFrameEngine(config: EdgeConfig, logger: Logger): FaceApiEngine {
  // No padded retry on frames: a camera frame has context around every face, and the retry
  // would double the cost of every face-less frame.
  const tiny = config.vision.detector === 'tinyFaceDetector';
  return new FaceApiEngine({
    backend: config.backend,
    modelsDir: config.modelsDir,
    detector: config.vision.detector,
    recognizer: config.model,
    tinyInputSize: config.vision.inputSize,
    // Shrink natively (sharp) straight to the tiny detector's input, rather than to 640 px
    // and again in tfjs. Its scores run lower than SSD's: on the bench's door frames 0.4 found
    // every face SSD found, 0.5 missed 1-3 in 60 (npm run bench).
    ...(tiny ? { maxInputSide: config.vision.inputSize, minConfidence: 0.4 } : {}),
    padRetry: false,
    maxProgressivePixels: MAX_PROGRESSIVE_FRAME_PIXELS,
    logger,
  });
}

/** One camera's pipeline as the edge runs it (the benchmark builds it here too). */
export function createRecognitionPipeline(
  config: EdgeConfig,
  deps: { source: FrameSource; engine: FaceEngine; matcher: Matcher; recorder: CheckInRecorder; logger: Logger; review?: ReviewSink },
): RecognitionPipeline {
  return new RecognitionPipeline({ ...deps, ...(config.motionGate ? { gate: new MotionGate() } : {}), options: { cameraId: deps.source.id, ...config.recognition } });
}

/**
 * The edge program. The constructor only stores its inputs; `start()` builds and starts every
 * component, so listeners attached between the two see every event from the first frame on.
 */
export class Edge extends EventEmitter<EdgeEvents> {
  // Set by start(); reading them before is a programming error.
  db!: Db;
  elders!: ElderRepository;
  /** Staff's changes to the elder registry, each forwarded through the outbox (elders/registry-service.ts). */
  registry!: ElderRegistry;
  /** Enrolment at the door camera (elders/enrolment-wizard.ts). */
  wizard!: EnrolmentWizard;
  checkIns!: CheckInService;
  forwarder!: Forwarder;
  /** Staff actions, hash-chained, each forwarded to the server as an audit record. */
  audit!: AuditLog;
  /** Staff accounts and sessions (the staff pages' login). */
  staff!: StaffService;
  /** Meals by hand and voids as the staff pages make them (audited). */
  staffMeals!: StaffMealService;
  /** What the door was unsure of, with face crops kept on this box, for staff (review/review-service.ts). */
  reviews!: ReviewService;
  /** Each finished day's counts, reported to the server for reconciliation. */
  dailyCounts!: DailyCountService;
  /** Today's view: windows, meals by method, check-ins, expected regulars. */
  today!: TodayService;
  /** The staff pages' address: on the LAN address when `--staff-host` is set, else this box's. */
  staffUrl = '';
  /** The edge's time: learnt from the server, or the system clock when plausible (clock/trusted-clock.ts). */
  clock!: TrustedClock;
  engine!: FaceEngine;
  /** The first camera's pipeline; `pipelines` has one per camera, all sharing the engine. */
  pipeline: RecognitionPipeline | null = null;
  pipelines: RecognitionPipeline[] = [];
  sources: FrameSource[] = [];
  statusUrl = '';
  /** The kiosk page's address (on the LAN address when `--staff-host` is set). */
  kioskUrl = '';
  /** What the kiosk pages are told (decisions, 请稍候); web/kiosk-routes.ts streams it. */
  kiosk!: KioskHub;
  /** The centre's config document from the server: applied here, kept in the database (bureau/). */
  centreConfig!: ConfigService;
  /**
   * The meal windows and time zone in force: the server's (the centre's config document) when it
   * sent them, else --meal-windows / --time-zone. Windows change in place while running; a new
   * time zone takes effect at the next start.
   */
  meals!: { windows: MealWindow[]; timeZone: string };
  /** The gallery every pipeline matches against (one for all cameras). */
  private matcher?: Matcher;
  private readonly logger: Logger;
  private readonly stack: Array<() => Promise<void> | void> = [];

  constructor(
    readonly config: EdgeConfig,
    private readonly deps: EdgeDeps = {},
  ) {
    super();
    this.logger = deps.logger ?? createLogger('edge');
  }

  async start(): Promise<void> {
    try {
      await this.startComponents();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops everything started, newest first. Safe to call twice. */
  async stop(): Promise<void> {
    const stack = this.stack.splice(0).reverse();
    for (const f of stack) {
      try {
        await f();
      } catch (err) {
        this.logger.warn({ err }, 'error while stopping');
      }
    }
  }

  /**
   * Reloads the matcher from the database. The edge calls it itself within about a second of
   * any enrolment or removal (its template watcher); callers need not. Synchronous, so it runs
   * between two frames: a frame's faces are all matched against one gallery. Tracks already
   * decided stay decided; a removed elder still being voted on is refused by the check-in
   * service (`unknown-elder`).
   */
  reloadTemplates(): void {
    const t0 = performance.now();
    if (!this.matcher) return; // not built yet: it loads the gallery when it is
    this.matcher.replace(this.loadGallery());
    this.logger.info({ elders: this.matcher.elderCount, templates: this.matcher.size, ms: Math.round((performance.now() - t0) * 10) / 10 }, 'templates reloaded');
  }

  /**
   * The templates of the engine's recognizer, and only those: after a model change the
   * others' templates stay in the database (the elders listed by `eldersWithoutModel` need
   * re-enrolment) but are never matched. Throws when the stored dimension is not the engine's
   * (a manifest entry whose output changed under the same id), rather than match nonsense.
   */
  private loadGallery(): TemplateSet {
    const { id, dimension } = this.engine.info().model;
    // Active elders only: a suspended, deceased or moved elder is not recognised at the door.
    const set = this.elders.loadTemplates(id, { activeOnly: true });
    if (set.dim !== undefined && set.dim !== dimension) throw new Error(`the templates of model ${id} are ${set.dim}-d, the engine's descriptors ${dimension}-d: one model id names two models; re-enrol the elders or restore the model`);
    return { ...set, dim: dimension };
  }

  /** Live per-camera status (empty before start or without cameras). */
  cameraStatus(): CameraStatus[] {
    const now = Date.now();
    return this.sources.map((s, i) => cameraStatusOf(s, this.pipelines[i], now));
  }

  private async startComponents(): Promise<void> {
    const { config, deps, logger, stack } = this;
    const systemTime = deps.clock ?? systemClock;
    const ids = deps.ids ?? uuidV7Ids;

    const db = openEdgeDatabase(config.dbFile, { templateKey: config.templateKeyFile });
    this.db = db;
    stack.push(() => {
      db.close();
    });
    const elders = createElderRepository(db);
    this.elders = elders;
    const outbox = createOutboxRepository(db);
    // The server's windows and time zone, as last applied, override the box's own settings.
    const centreConfigs = createCentreConfigRepository(db);
    const meals = mealsInForce(config.meals, centreConfigs.applied()?.document, logger);
    this.meals = meals;
    // Clock sanity: one id per run, in every event; the clock says whether it can be trusted.
    const bootId = randomUUID();
    const clockRepo = createClockRepository(db);
    const clock = new TrustedClock({ system: systemTime, mono: deps.monotonic ?? systemMonotonic, bootId, logger: logger.child({ component: 'clock' }), checkpoints: clockRepo });
    this.clock = clock;
    clock.start();
    stack.push(() => clock.stop());
    const checkInRepo = createCheckInRepository(db);
    const corrector = createClockCorrector({ db, clocks: clockRepo, checkIns: checkInRepo, outbox, windows: meals.windows, timeZone: meals.timeZone, bootId, logger });
    // Check-ins an earlier run recorded with an untrusted clock can no longer be corrected.
    corrector.releaseEarlierRuns(clock.now());
    const checkIns = createCheckInService({
      db,
      elders,
      checkIns: checkInRepo,
      outbox,
      clock,
      bootId,
      unsynced: clockRepo,
      ids,
      windows: meals.windows,
      timeZone: meals.timeZone,
      centreId: config.centreId,
      deviceId: config.deviceId,
      logger,
      antispoofThreshold: config.antispoofThreshold,
    });
    this.checkIns = checkIns;
    // Every staff action is audited in its own transaction, and forwarded in that same one.
    // notify() defers its send (setImmediate): the row goes out after its transaction commits.
    let notifyForwarder = (): void => {};
    const audit = createAuditLog({
      db,
      clock,
      ids,
      forward: (row) => {
        outbox.enqueue(auditRecordOf(row, config.centreId, config.deviceId), row.at);
        notifyForwarder();
      },
    });
    this.audit = audit;
    const staff = createStaffService({ db, clock, audit });
    this.staff = staff;
    // Meals by hand and voids, each audited in its own transaction; today's view for the pages.
    const staffMeals = createStaffMealService({ db, checkIns, audit });
    this.staffMeals = staffMeals;
    const today = createTodayService({ checkIns: checkInRepo, elders, windows: meals.windows, timeZone: meals.timeZone, clock, staffName: (id) => staff.get(id)?.name });
    this.today = today;
    // The review queue: crops stay in this box's SQLite; expired ones go at start and on a timer.
    const reviewRepo = createReviewRepository(db);
    const reviews = createReviewService({ db, reviews: reviewRepo, elders, checkIns, audit, clock, ids, retentionMs: config.review.retentionMs, logger: logger.child({ component: 'review' }) });
    this.reviews = reviews;
    reviews.start();
    stack.push(() => reviews.stop());

    // Forwarding first: meals already in the outbox go out even if the camera or models fail.
    const forwarder = new Forwarder(
      { url: config.mqtt.url, centreId: config.centreId, deviceId: config.deviceId, username: config.mqtt.username, password: config.mqtt.password, ...(config.mqtt.caFile ? { ca: readFileSync(config.mqtt.caFile) } : {}), protocolVersion: config.mqtt.protocolVersion, outboxAlarmThreshold: config.mqtt.outboxAlarmThreshold },
      { outbox, conflicts: outbox, clock, logger: logger.child({ component: 'forwarder' }), time: clock, config: { receive: (p) => this.centreConfig.receive(p) } },
    );
    this.forwarder = forwarder;
    checkIns.onRecorded(() => forwarder.notify());
    notifyForwarder = () => forwarder.notify();
    this.registry = createElderRegistry({
      db,
      elders,
      outbox,
      ids,
      clock,
      centreId: config.centreId,
      deviceId: config.deviceId,
      timeZone: meals.timeZone,
      categories: config.elders.categories,
      consentTexts: loadConsentTexts(config.elders.consentDir),
      audit,
      onChange: () => forwarder.notify(),
      crops: reviewRepo,
      idNumberKey: () => centreConfigs.applied()?.document.idNumberKey,
    });
    this.centreConfig = createConfigService({
      db,
      centreId: config.centreId,
      deviceId: config.deviceId,
      configs: centreConfigs,
      registry: this.registry,
      elders,
      reviews: reviewRepo,
      audit,
      outbox,
      clock,
      ids,
      logger: logger.child({ component: 'centre-config' }),
      onApplied: (applied) => {
        // Erased templates and bureau statuses leave the door's gallery now, not at the next poll.
        this.reloadTemplates();
        forwarder.notify();
        const next = mealsInForce(config.meals, applied.document, logger);
        if (next.timeZone !== meals.timeZone) logger.warn({ now: meals.timeZone, next: next.timeZone }, 'the server set another time zone for this centre: it takes effect at the next start of the edge');
        // In place: every component holds this array.
        meals.windows.splice(0, meals.windows.length, ...next.windows);
      },
    });
    // The time is known: this run's held check-ins get their real time, meal and date, and go.
    clock.on('synced', () => {
      const sum = corrector.correctHeld((monoMs) => clock.timeAtMono(monoMs) ?? clock.now(), clock.now());
      if (sum.corrected + sum.duplicates + sum.outsideWindow > 0) forwarder.rescan();
    });
    await forwarder.start();
    stack.push(() => forwarder.stop());
    // Each finished day's counts go to the server, which reconciles them with its own.
    const dailyCounts = createDailyCountService({ db, outbox, centreId: config.centreId, deviceId: config.deviceId, clock, ids, windows: config.meals.windows, timeZone: config.meals.timeZone, onQueued: () => forwarder.notify(), logger: logger.child({ component: 'daily-count' }) });
    this.dailyCounts = dailyCounts;
    dailyCounts.start();
    stack.push(() => dailyCounts.stop());
    clock.on('synced', () => {
      try {
        dailyCounts.report();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'daily count report failed');
      }
    });

    const engine = deps.engine ?? createFrameEngine(config, logger.child({ component: 'vision' }));
    this.engine = engine;
    await engine.start();
    stack.push(() => engine.stop());
    logger.info({ backend: engine.info().backend, detector: engine.info().detector }, 'face engine ready');

    const loadedVersion = elders.templatesVersion();
    const matcher = new Matcher(this.loadGallery(), config.match);
    this.matcher = matcher;
    logger.info({ elders: matcher.elderCount, templates: matcher.size, model: matcher.model }, 'templates loaded');
    const model = engine.info().model;
    const reenrol = elders.eldersWithoutModel(model.id);
    if (reenrol.length > 0) logger.warn({ elders: reenrol.length, model: model.id, first: reenrol.slice(0, REENROLMENT_LISTED) }, `${reenrol.length} elder(s) have no face template of model ${model.id} and will not be recognised until enrolled again (mealcheck elder list shows their models)`);
    // Enrolment and removal take effect at the door without a restart, from any process.
    const watcher = new TemplateWatcher({ version: () => elders.templatesVersion(), onChange: () => this.reloadTemplates(), logger });
    watcher.start(loadedVersion);
    stack.push(() => watcher.stop());

    // Enrolment at the door camera looks at the frames recognition takes (capture/frame-tap.ts).
    const taps = new Map<string, FrameTap>();
    const wizard = createEnrolmentWizard({
      engine,
      store: { ...elders, validConsent: (id) => this.registry.validConsent(id), transaction: (fn) => db.transaction(fn)() },
      latestFrame: (cameraId) => (cameraId === undefined ? taps.values().next().value : taps.get(cameraId))?.latest(),
      clock,
      // The door's own limits: a template the door could not match is never made.
      minFaceSize: config.recognition.minFaceSize ?? 40,
      ...(config.recognition.quality ? { quality: config.recognition.quality } : {}),
      lookalikeDistance: config.lookalikeDistance,
      audit,
    });
    this.wizard = wizard;
    // The kiosk: the box's voice (espeak-ng, rendered here, cached on disk) and the event hub
    // the pipelines feed. A missing espeak-ng is a status problem, never a failed start.
    const speech = new KioskSpeech({ voice: config.kiosk.voice, rate: config.kiosk.speechRate, volume: config.kiosk.volume, cacheDir: config.kiosk.audioDir, logger: logger.child({ component: 'kiosk' }), ...(deps.speechCommand ? { command: deps.speechCommand } : {}) });
    speech.start();
    void speech.warm(KIOSK_PHRASES);
    stack.push(() => speech.stop());
    const kiosk = new KioskHub({ clock, windows: meals.windows, timeZone: meals.timeZone, nameMode: config.kiosk.name, speech, runId: bootId.slice(0, 8) });
    this.kiosk = kiosk;

    const startedAt = clock.now();
    const statusOf = statusSource({
      centreId: config.centreId,
      deviceId: config.deviceId,
      startedAt,
      checkIns,
      forwarder,
      pipeline: () => ({
        engine: { backend: engine.info().backend, detector: engine.info().detector },
        model: { id: model.id, dimension: model.dimension },
        reenrolment: reenrolmentOf(elders.eldersWithoutModel(model.id)),
        unknown: this.pipelines.reduce((n, p) => n + p.counters().unknown, 0),
        cameras: this.cameraStatus(),
      }),
      clock: () => ({ ...clock.status(), heldCheckIns: outbox.heldCount() }),
      reviews: () => reviews.summary(),
      box: () => ({
        outboxOldestAt: outbox.oldestCreatedAt?.() ?? null,
        kiosk: { clients: kiosk.clients, voice: speech.status() },
        ...optional('disk', diskSpace(config.dataDir)),
        cpuTemperatureC: cpuTemperature(),
        version: edgeVersion(),
        templates: templatesStatus(templateVaultOf(db)),
        centreConfig: centreConfigStatus(this.centreConfig),
      }),
    });
    const metrics = createEdgeMetrics({
      pipelines: () => this.pipelines.map((p, i) => ({ camera: this.sources[i]?.id ?? `cam${i + 1}`, counters: p.counters() })),
      forwarder: () => forwarder.stats(),
      checkInsTotal: () => checkIns.countAll(),
      outboxOldestAt: () => outbox.oldestCreatedAt?.() ?? null,
      now: () => clock.now(),
    });
    const status = new StatusServer({
      port: config.http.port,
      host: config.http.host,
      ...(config.http.lanHost ? { lanHost: config.http.lanHost } : {}),
      logger,
      confirmations: checkIns,
      // The staff feature first: its session hook sets request.staff for every later feature.
      plugins: [
        ...staffWebPlugins({ staff, timeZone: meals.timeZone }),
        ...elderWebPlugins(this.registry, wizard),
        mealWebPlugin({ meals: staffMeals, today, elders, timeZone: meals.timeZone }),
        reviewWebPlugin({ reviews, elders, timeZone: meals.timeZone, retentionHours: config.review.retentionMs / 3600_000 }),
        kioskWebPlugin({ hub: kiosk, speech, timeZone: meals.timeZone, showSeconds: config.kiosk.showSeconds }),
        healthWebPlugin({ status: statusOf, timeZone: meals.timeZone }),
        metricsWebPlugin(metrics),
      ],
      status: statusOf,
    });
    await status.start();
    stack.push(() => status.stop());
    this.statusUrl = `http://${config.http.host}:${status.port()}`;
    const lan = config.http.lanHost;
    this.staffUrl = `http://${lan && lan !== '0.0.0.0' && lan !== '::' ? (lan.includes(':') ? `[${lan}]` : lan) : config.http.host}:${status.port()}/staff/`;
    this.kioskUrl = this.staffUrl.replace(/\/staff\/$/, '/kiosk');

    // Recognition last: everything it feeds is up before the first frame.
    // Several cameras (e.g. two doors) share the engine and the matcher, one pipeline each;
    // check-ins carry the camera's id.
    const sources = deps.sources ?? (deps.source ? [deps.source] : createFrameSources(config, logger));
    this.sources = sources;
    if (sources.length === 0) logger.warn('no camera configured (--camera): recognition is off; forwarding and status still run');
    let running = sources.length;
    for (const source of sources) {
      const tap = new FrameTap(source);
      taps.set(source.id, tap);
      const pipeline = createRecognitionPipeline(config, { source: tap, engine, matcher, recorder: checkIns, review: reviews, logger: logger.child({ component: 'recognition' }) });
      this.pipeline ??= pipeline;
      this.pipelines.push(pipeline);
      // The kiosk first: the elder at the door waits for it, the log does not.
      pipeline.on('deciding', (e) => kiosk.deciding(e));
      pipeline.on('frame', (e) => metrics.engineTime(e.cameraId, e.detectMs));
      pipeline.on('check-in', (e) => {
        kiosk.checkIn(e);
        const msg = kioskMessage(e.result);
        logger.info({ elderId: e.elderId, status: e.result.status, distance: Number(e.distance.toFixed(3)), antispoof: e.antispoof === undefined ? undefined : Number(e.antispoof.toFixed(3)), camera: e.cameraId }, msg.text);
        this.emit('check-in', e);
      });
      pipeline.on('unknown', (e) => {
        kiosk.unknown(e);
        logger.info({ reason: e.reason, camera: e.cameraId }, '请联系工作人员 (face not recognised)');
        this.emit('unknown', e);
      });
      pipeline.on('end', () => {
        if (--running === 0) this.emit('camera-end');
      });
      pipeline.on('error', (e) => logger.warn({ kind: e.kind, err: e.error.message, camera: e.cameraId }, 'recognition error'));
      await pipeline.start();
      stack.push(() => pipeline.stop());
    }
    logger.info({ statusUrl: this.statusUrl, centre: config.centreId, device: config.deviceId }, 'edge running');
  }
}

/**
 * The meal windows and time zone in force: the server's from the centre's config document when it
 * set them (the bureau's word, README "Registry of record"), else the box's --meal-windows and
 * --time-zone. A value the box cannot use is logged and the box's own kept.
 */
export function mealsInForce(own: { windows: readonly MealWindow[]; timeZone: string }, doc: CentreConfig | undefined, logger: Logger): { windows: MealWindow[]; timeZone: string } {
  let windows = [...own.windows];
  let timeZone = own.timeZone;
  if (doc?.mealWindows !== undefined) {
    try {
      windows = parseMealWindows(doc.mealWindows);
    } catch (err) {
      if (!(err instanceof MealWindowError)) throw err;
      logger.warn({ mealWindows: doc.mealWindows, problems: err.problems }, "the server's meal windows for this centre do not parse; the box's own stay in force");
    }
  }
  if (doc?.timeZone !== undefined) {
    if (isValidTimeZone(doc.timeZone)) timeZone = doc.timeZone;
    else logger.warn({ timeZone: doc.timeZone }, "the server's time zone for this centre is not one this box knows; the box's own stays in force");
  }
  return { windows, timeZone };
}

/** `{ [key]: value }`, or nothing when the value is null (an optional status field left out). */
function optional<K extends string, V>(key: K, value: V | null): Partial<Record<K, V>> {
  return value === null ? {} : ({ [key]: value } as Record<K, V>);
}

/** Elders listed by id in the status's and the start log's re-enrolment field; the count is whole. */
const REENROLMENT_LISTED = 50;

/** The applied config document's version and subsidy rules, for the status and the health page. */
function centreConfigStatus(service: ConfigService): EdgeStatus['centreConfig'] {
  const r = service.rules();
  return { version: r.version, appliedAt: r.appliedAt, rules: r.rules, skippedRules: r.skipped };
}

function templatesStatus(vault: TemplateVault): EdgeStatus['templates'] {
  return vault.problem === undefined ? { sealed: true, keyFile: vault.keyFile } : { sealed: true, keyFile: vault.keyFile, problem: vault.problem };
}

function reenrolmentOf(ids: readonly string[]): { elders: number; ids: string[] } {
  return { elders: ids.length, ids: ids.slice(0, REENROLMENT_LISTED) };
}

/** Per camera, for GET /api/v1/status: the source's health and what recognition made of it. */
function cameraStatusOf(source: FrameSource, pipeline: RecognitionPipeline | undefined, now: number): CameraStatus {
  const frames = pipeline?.counters().frames ?? 0;
  if (!isMonitored(source)) return { id: source.id, state: 'running', frames };
  const h = source.health();
  const s: CameraStatus = {
    id: h.id,
    state: h.state,
    kind: h.kind,
    source: h.source,
    frames,
    received: h.received,
    dropped: h.dropped,
    fps: h.fps,
    lastFrameAt: h.lastFrameAt === null ? null : new Date(h.lastFrameAt).toISOString(),
    lastFrameAgeMs: h.lastFrameAt === null ? null : Math.max(0, Math.round(now - h.lastFrameAt)),
    restarts: h.restarts,
  };
  if (h.width !== undefined) s.width = h.width;
  if (h.height !== undefined) s.height = h.height;
  if (h.error !== undefined) s.error = h.error;
  return s;
}

/** Creates and starts an edge (for callers that attach no listeners before the first frame). */
export async function startEdge(config: EdgeConfig, deps: EdgeDeps = {}): Promise<Edge> {
  const edge = new Edge(config, deps);
  await edge.start();
  return edge;
}
