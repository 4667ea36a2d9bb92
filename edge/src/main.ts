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
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { systemClock, uuidV7Ids, type Clock, type Ids } from '../../common/clock.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { openDatabase, type Db } from '../../common/sqlite.ts';
import type { FrameSource } from './capture/frame-source.ts';
import { FolderFrameSource } from './capture/folder-source.ts';
import type { EdgeConfig } from './config.ts';
import { createElderRepository, type ElderRepository } from './elders/elder-repository.ts';
import { createCheckInRepository } from './meals/check-in-repository.ts';
import { createCheckInService, type CheckInService } from './meals/check-in-service.ts';
import { kioskMessage } from './meals/kiosk-message.ts';
import { Matcher } from './recognition/matcher.ts';
import { RecognitionPipeline, type CheckInEvent, type UnknownEvent } from './recognition/pipeline.ts';
import { createOutboxRepository } from './sync/outbox-repository.ts';
import { Forwarder } from './sync/forwarder.ts';
import type { FaceEngine } from './vision/face-engine.ts';
import { FaceApiEngine } from './vision/face-api-engine.ts';
import { StatusServer, statusSource } from './web/status-server.ts';

export const EDGE_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/** Opens (and migrates) the edge database: WAL, synchronous=FULL. */
export function openEdgeDatabase(file: string): Db {
  return openDatabase(file, { migrationsDir: EDGE_MIGRATIONS_DIR, synchronous: 'FULL' });
}

export interface EdgeDeps {
  /** Defaults to the face-api engine configured from `config`. Tests pass a fake. */
  engine?: FaceEngine;
  /** Defaults to a source built from `config.camera`. */
  source?: FrameSource;
  clock?: Clock;
  ids?: Ids;
  logger?: Logger;
}

export interface EdgeEvents {
  'check-in': [CheckInEvent];
  unknown: [UnknownEvent];
  /** The camera source ended (a folder of frames was read to the end). */
  'camera-end': [];
}

export interface RunningEdge extends EventEmitter<EdgeEvents> {
  config: EdgeConfig;
  db: Db;
  elders: ElderRepository;
  checkIns: CheckInService;
  forwarder: Forwarder;
  engine: FaceEngine;
  pipeline: RecognitionPipeline | null;
  statusUrl: string;
  /** Reloads the matcher's templates after an enrolment. */
  reloadTemplates(): void;
  stop(): Promise<void>;
}

/** Builds a frame source from the `--camera` setting. */
export function createFrameSource(config: EdgeConfig): FrameSource | null {
  if (!config.camera) return null;
  return new FolderFrameSource({ dir: config.camera, id: 'cam1', fps: config.fps, realtime: config.realtime ?? true });
}

export async function startEdge(config: EdgeConfig, deps: EdgeDeps = {}): Promise<RunningEdge> {
  const logger = deps.logger ?? createLogger('edge');
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? uuidV7Ids;
  const events = new EventEmitter<EdgeEvents>();
  const stack: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const f of stack.reverse()) {
      try {
        await f();
      } catch (err) {
        logger.warn({ err }, 'error while stopping');
      }
    }
    stack.length = 0;
  };

  try {
    const db = openEdgeDatabase(config.dbFile);
    stack.push(() => {
      db.close();
    });
    const elders = createElderRepository(db);
    const outbox = createOutboxRepository(db);
    const checkIns = createCheckInService({
      db,
      elders,
      checkIns: createCheckInRepository(db),
      outbox,
      clock,
      ids,
      windows: config.meals.windows,
      timeZone: config.meals.timeZone,
      centreId: config.centreId,
      deviceId: config.deviceId,
      logger,
    });

    // Forwarding first: meals already in the outbox go out even if the camera or models fail.
    const forwarder = new Forwarder(
      { url: config.mqtt.url, centreId: config.centreId, deviceId: config.deviceId, username: config.mqtt.username, password: config.mqtt.password, protocolVersion: config.mqtt.protocolVersion },
      { outbox, clock, logger: logger.child({ component: 'forwarder' }) },
    );
    checkIns.onRecorded(() => forwarder.notify());
    await forwarder.start();
    stack.push(() => forwarder.stop());

    const engine =
      deps.engine ??
      new FaceApiEngine({ backend: config.backend, modelsDir: config.modelsDir, padRetry: false, logger: logger.child({ component: 'vision' }) });
    await engine.start();
    stack.push(() => engine.stop());
    logger.info({ backend: engine.info().backend, detector: engine.info().detector }, 'face engine ready');

    const matcher = new Matcher(elders.loadTemplates(), config.match);
    logger.info({ elders: elders.listElders().length, templates: matcher.size }, 'templates loaded');

    const source = deps.source ?? createFrameSource(config);
    let pipeline: RecognitionPipeline | null = null;
    if (!source) {
      logger.warn('no camera configured (--camera): recognition is off; forwarding and status still run');
    } else {
      pipeline = new RecognitionPipeline({
        source,
        engine,
        matcher,
        recorder: checkIns,
        logger: logger.child({ component: 'recognition' }),
        options: { cameraId: source.id, ...config.recognition },
      });
      pipeline.on('check-in', (e) => {
        const msg = kioskMessage(e.result);
        logger.info({ elderId: e.elderId, status: e.result.status, distance: Number(e.distance.toFixed(3)), camera: e.cameraId }, msg.text);
        events.emit('check-in', e);
      });
      pipeline.on('unknown', (e) => {
        logger.info({ reason: e.reason, camera: e.cameraId }, '请联系工作人员 (face not recognised)');
        events.emit('unknown', e);
      });
      pipeline.on('end', () => events.emit('camera-end'));
      pipeline.on('error', (e) => logger.warn({ kind: e.kind, err: e.error.message, camera: e.cameraId }, 'recognition error'));
      await pipeline.start();
      const p = pipeline;
      stack.push(() => p.stop());
    }

    const startedAt = clock.now();
    const status = new StatusServer({
      port: config.http.port,
      host: config.http.host,
      logger,
      status: statusSource({
        centreId: config.centreId,
        deviceId: config.deviceId,
        startedAt,
        checkIns,
        forwarder,
        pipeline: () => ({
          engine: { backend: engine.info().backend, detector: engine.info().detector },
          unknown: pipeline?.counters().unknown ?? 0,
        }),
      }),
    });
    await status.start();
    stack.push(() => status.stop());
    const statusUrl = `http://${config.http.host}:${status.port()}`;
    logger.info({ statusUrl, centre: config.centreId, device: config.deviceId }, 'edge running');

    return Object.assign(events, {
      config,
      db,
      elders,
      checkIns,
      forwarder,
      engine,
      pipeline,
      statusUrl,
      reloadTemplates: () => pipeline?.reloadTemplates(elders.loadTemplates()),
      stop: stopAll,
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}
