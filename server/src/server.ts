/**
 * Starts the server process: SQLite, the MQTT broker (embedded unless an external URL is
 * given), MQTT ingest and the HTTP API. `mealcheck server` calls `startServer`; running this
 * file directly does the same from argv and env.
 */
import type { FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { systemClock, type Clock } from '../../common/clock.ts';
import { ConfigError, describeSettings } from '../../common/config.ts';
import { createLogger, redactUrl, type Logger } from '../../common/logger.ts';
import { openDatabase, type Db } from '../../common/sqlite.ts';
import { buildApp } from './app.ts';
import { connectHost, createEmbeddedBroker, EMBEDDED_BROKER_PROTOCOL_VERSION, type EmbeddedBroker } from './broker.ts';
import { readServerSettings, serverSettingsSpec, type ServerSettings } from './config.ts';
import { createDeviceCredentialRepository, deviceClientId, generatePassword } from './modules/devices/credential-repository.ts';
import { createDeadLetterRepository } from './modules/meals/dead-letter-repository.ts';
import { createDeviceRepository } from './modules/meals/device-repository.ts';
import { createMealRepository } from './modules/meals/meal-repository.ts';
import { createMqttIngest, type MqttIngest } from './modules/meals/mqtt-ingest.ts';
import { createVoidRepository } from './modules/meals/void-repository.ts';
import { createRecordIngest, type RecordHandler } from './modules/records/record-ingest.ts';
import { createElderRegistryRepository } from './modules/elders/elder-registry.ts';
import { idNumberKeyOf, sealClearIdNumbers } from './modules/elders/id-number-key.ts';
import { auditRecordHandler } from './modules/audit/audit-records.ts';
import { createReconciliationRepository } from './modules/reconciliation/reconciliation-repository.ts';
import { createStatusRepository } from './modules/status/status-repository.ts';
import { createServerMetrics } from './modules/status/server-metrics.ts';
import { resolveAdminToken } from './plugins/auth.ts';
import { createBureau } from './modules/bureau/bureau.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
export const DATABASE_FILE = 'mealcheck-server.sqlite';
/** MQTT user name of the server's own ingest client on the embedded broker (device names have a "/"). */
export const SERVER_MQTT_USERNAME = 'mealcheck-server';

export interface StartOptions {
  /** Defaults to a pino logger on stderr at `settings.logLevel`. */
  logger?: Logger;
  clock?: Clock;
  /** How long to wait for the MQTT subscription before serving anyway (default 10 s). */
  mqttReadyTimeoutMs?: number;
  /** How often the config documents are checked for changes made by other processes (default 2 s). */
  configPollMs?: number;
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080` */
  httpUrl: string;
  /** The broker edges connect to; for an external broker, its URL without the password. */
  mqttUrl: string;
  /** True when the broker is the embedded aedes. */
  embeddedBroker: boolean;
  /** The `/api` bearer token. */
  token: string;
  /** True when this start generated the token (stored in `<data>/admin-token`): print it once. */
  tokenGenerated: boolean;
  db: Db;
  app: FastifyInstance;
  /** Registers a device (or replaces its password) and returns the generated password. */
  registerDevice(centreId: string, deviceId: string): Promise<string>;
  /** Stops HTTP, ingest and broker, then closes the database. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startServer(settings: ServerSettings, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger('server', settings.logLevel);
  const clock = opts.clock ?? systemClock;
  const admin = resolveAdminToken(settings.adminToken, settings.dataDir);
  if (admin.generated) {
    // The token itself is never logged: the caller prints it once to the terminal
    // (`tokenGenerated`); afterwards it is read from the file.
    logger.warn({ file: admin.file }, 'generated an admin token (printed once on the terminal, kept in the file)');
  }

  const stops: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch (err) {
        logger.error({ err }, 'error while stopping');
      }
    }
  };

  try {
    // synchronous=FULL (openDatabase): a receipt goes out after the commit, and tells the edge
    // to delete its copy, so the commit must survive power loss, not just a process kill.
    const db = openDatabase(join(settings.dataDir, DATABASE_FILE), { migrationsDir: MIGRATIONS_DIR });
    stops.push(() => void db.close());
    // The ID-number key beside the database (made at first start); numbers an older server kept in clear are sealed now.
    const resealed = sealClearIdNumbers(db, idNumberKeyOf(db));
    if (resealed > 0) logger.info({ resealed }, 'ID numbers stored in clear were sealed');

    const credentials = createDeviceCredentialRepository(db);
    let brokerUrl: string;
    let protocolVersion: 4 | 5;
    let broker: EmbeddedBroker | undefined;
    let ingestLogin: { username: string; password: string } | undefined;
    if (settings.mqttUrl) {
      brokerUrl = settings.mqttUrl;
      protocolVersion = settings.mqttProtocolVersion === 4 ? 4 : 5;
    } else {
      // The ingest client's own credential, new at every start; it exists only in this process.
      const serverPassword = Buffer.from(generatePassword());
      ingestLogin = { username: SERVER_MQTT_USERNAME, password: serverPassword.toString() };
      if (credentials.count() === 0) {
        logger.warn('no device is registered: the embedded MQTT broker accepts clients without credentials until the first `mealcheck device add`');
      }
      broker = createEmbeddedBroker({
        host: settings.mqttHost,
        port: settings.mqttPort,
        logger,
        auth: {
          async authenticate(clientId, username, password) {
            const pw = password ?? Buffer.alloc(0);
            const bad = { refuse: 4, reason: 'bad user name or password' } as const;
            if (username === SERVER_MQTT_USERNAME) {
              return pw.length === serverPassword.length && timingSafeEqual(pw, serverPassword) ? { kind: 'server' } : bad;
            }
            if (username !== undefined && username !== '') {
              const device = await credentials.verify(username, pw.toString('utf8'));
              if (!device) return bad;
              // A device's client id is fixed, so one box cannot take over another's (or the
              // server's) session: the broker drops the older connection with the same id.
              const expected = deviceClientId(device.centreId, device.deviceId);
              if (clientId !== expected) return { refuse: 2, reason: `client id must be ${expected}` };
              return { kind: 'device', ...device };
            }
            // Backward compatibility for a fresh one-machine setup: no credentials needed (and no
            // topic rules) only while the registry is empty. Checked per CONNECT, PUBLISH and
            // SUBSCRIBE, so the first `mealcheck device add` locks the broker without a restart.
            return credentials.count() === 0 ? { kind: 'anonymous' } : { refuse: 5, reason: 'credentials required' };
          },
          anonymousAllowed: () => credentials.count() === 0,
        },
      });
      const started = await broker.start();
      const b = broker;
      stops.push(() => b.stop());
      brokerUrl = started.url;
      protocolVersion = settings.mqttProtocolVersion === 4 ? 4 : EMBEDDED_BROKER_PROTOCOL_VERSION;
    }

    const deadLetters = createDeadLetterRepository(db);
    // One handler per record type (common/records.ts): each feature adds its own here.
    // Voids: a handler of `void` records, and asked by meal ingest whether a void awaits a meal.
    const voids = createVoidRepository(db);
    // The bureau's down-flow: its `ack` handler here, its config documents published on the
    // ingest's own client (made below, hence late-bound).
    const late: { publish?: (topic: string, payload: string) => Promise<void> } = {};
    const bureau = createBureau(db, {
      clock,
      logger: logger.child({ module: 'bureau' }),
      publish: (topic, payload) => (late.publish ? late.publish(topic, payload) : Promise.reject(new Error('ingest not started'))),
      ...(opts.configPollMs !== undefined ? { pollMs: opts.configPollMs } : {}),
    });
    const recordHandlers: RecordHandler[] = [
      createElderRegistryRepository(db).handler as RecordHandler,
      auditRecordHandler() as RecordHandler,
      voids as RecordHandler,
      bureau.erasures.handler as RecordHandler,
      createReconciliationRepository(db).handler as RecordHandler,
    ];
    const ingest: MqttIngest = createMqttIngest({
      url: brokerUrl,
      protocolVersion,
      clientId: settings.mqttClientId,
      ...(ingestLogin ?? {}),
      ...(settings.mqttUrl && settings.mqttCa ? { ca: readFileSync(settings.mqttCa) } : {}),
      db,
      meals: createMealRepository(db, { voids }),
      records: createRecordIngest(db, recordHandlers),
      deadLetters,
      devices: createDeviceRepository(db),
      clock,
      logger: logger.child({ module: 'ingest' }),
      readyTimeoutMs: opts.mqttReadyTimeoutMs,
    });
    // Ingest stops before the broker (pushed later, stopped earlier).
    stops.push(() => ingest.stop());
    await ingest.start();
    late.publish = (topic, payload) => ingest.publishRetained(topic, payload);
    // Every centre's newest document again (the embedded broker keeps retained messages in memory).
    bureau.configs.start();
    stops.push(() => bureau.configs.stop());

    const metrics = createServerMetrics({ ingest: () => ingest.stats(), status: createStatusRepository(db), deadLetters });
    const app = await buildApp({
      db,
      logger,
      adminToken: admin.token,
      deadLetters,
      clock,
      metrics,
      bureau,
      sessions: { idleHours: settings.sessionIdleHours, maxDays: settings.sessionMaxDays, secureCookies: settings.secureCookies },
      stats: {
        health: { offlineAfterMinutes: settings.boxOfflineMinutes, silentGraceMinutes: settings.silentGraceMinutes },
        welfare: { minMeals: settings.welfareMinMeals, absentDays: settings.welfareAbsentDays },
      },
    });
    stops.push(() => app.close());
    await app.listen({ host: settings.httpHost, port: settings.httpPort });
    const port = (app.server.address() as AddressInfo).port;
    const httpUrl = `http://${connectHost(settings.httpHost)}:${port}`;
    const mqttUrl = redactUrl(brokerUrl);
    logger.info({ httpUrl, mqttUrl, embeddedBroker: broker !== undefined, dataDir: settings.dataDir }, 'mealcheck server started');

    return {
      httpUrl,
      mqttUrl,
      embeddedBroker: broker !== undefined,
      token: admin.token,
      tokenGenerated: admin.generated,
      db,
      app,
      registerDevice: (centreId, deviceId) => credentials.add(centreId, deviceId, clock.now()),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`server.ts [options] (the same as mealcheck server)\n\n${describeSettings(serverSettingsSpec)}\n`);
    return;
  }
  let settings: ServerSettings;
  try {
    settings = readServerSettings(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const running = await startServer(settings);
  if (running.tokenGenerated) process.stdout.write(`admin token (stored in ${join(settings.dataDir, 'admin-token')}): ${running.token}\n`);
  process.stdout.write(`HTTP ${running.httpUrl}  MQTT ${running.mqttUrl}\n`);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping\n`);
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`mealcheck server failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
