/**
 * Server settings: one spec gives the flags, environment variables, defaults and the docs that
 * `mealcheck server --help` and the README list.
 */
import { ConfigError, parseArgs, pemFileProblem, readSettings, type SettingsOf, type SettingsSpec } from '../../common/config.ts';

// Optional settings spell out `default: undefined`: SettingsOf (common/config.ts) reads a
// missing `default` key as required, so the type would wrongly say `string`.
export const serverSettingsSpec = {
  /** Folder for the SQLite database and the generated admin token. */
  dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/server', doc: 'data folder (database, admin token)' },
  /** Interface the HTTP API binds to; loopback by default so nothing is exposed by accident. */
  httpHost: { flag: 'host', env: 'MEALCHECK_HTTP_HOST', type: 'string', default: '127.0.0.1', doc: 'HTTP listen address' },
  httpPort: { flag: 'http-port', env: 'MEALCHECK_HTTP_PORT', type: 'int', default: 8080, min: 0, max: 65535, doc: 'HTTP port (0 = any free port)' },
  /** Interface the embedded broker binds to; edge boxes on the network need a reachable one. */
  mqttHost: { flag: 'mqtt-host', env: 'MEALCHECK_MQTT_HOST', type: 'string', default: '127.0.0.1', doc: 'embedded MQTT broker listen address' },
  mqttPort: { flag: 'mqtt-port', env: 'MEALCHECK_MQTT_PORT', type: 'int', default: 1883, min: 0, max: 65535, doc: 'embedded MQTT broker port (0 = any free port)' },
  /** When set, no broker is embedded: the server connects to this one (e.g. Mosquitto). */
  mqttUrl: { flag: 'mqtt-url', env: 'MEALCHECK_MQTT_URL', type: 'string', default: undefined, doc: 'external MQTT broker URL, e.g. mqtt://user:pass@broker:1883 (replaces the embedded broker)' },
  /** The CA of an external broker reached over mqtts:// (a private CA; Mosquitto's ca.crt). */
  mqttCa: { flag: 'mqtt-ca', env: 'MEALCHECK_MQTT_CA', type: 'string', default: undefined, doc: 'with --mqtt-url mqtts://...: PEM file of the CA that signed the broker\'s TLS certificate; default: the system\'s CAs' },
  /**
   * MQTT protocol version the server's own client speaks. Unset: 5.
   */
  mqttProtocolVersion: { flag: 'mqtt-protocol', env: 'MEALCHECK_MQTT_PROTOCOL', type: 'int', default: undefined, min: 4, max: 5, doc: 'MQTT protocol version of the ingest client: 5 or 4 (3.1.1, for an old external broker); default 5' },
  /** Fixed so the broker keeps the ingest subscription (persistent session) across restarts. */
  mqttClientId: { flag: 'mqtt-client-id', env: 'MEALCHECK_MQTT_CLIENT_ID', type: 'string', default: 'mealcheck-server', doc: 'MQTT client id of the ingest client (one per server)' },
  /** Bearer token for `/api`; generated into <data>/admin-token when unset. */
  adminToken: { flag: 'admin-token', env: 'MEALCHECK_ADMIN_TOKEN', type: 'string', default: undefined, doc: 'API bearer token (at least 16 characters; generated at first start when unset)' },
  /** A page session unused this long ends (sign in again). */
  sessionIdleHours: { flag: 'session-idle-hours', env: 'MEALCHECK_SESSION_IDLE_HOURS', type: 'int', default: 12, min: 1, max: 24 * 30, doc: 'bureau page sessions end after this many hours unused' },
  /** A page session ends this long after sign-in, used or not. */
  sessionMaxDays: { flag: 'session-max-days', env: 'MEALCHECK_SESSION_MAX_DAYS', type: 'int', default: 7, min: 1, max: 90, doc: 'bureau page sessions end this many days after sign-in' },
  /** Behind a TLS-terminating proxy the server sees plain HTTP; the browser must still keep the cookie to HTTPS. */
  secureCookies: { flag: 'secure-cookies', env: 'MEALCHECK_SECURE_COOKIES', type: 'boolean', default: false, doc: 'mark the session cookie Secure (set it behind an HTTPS proxy; requests arriving over HTTPS get it anyway)' },
  /** Centre health: a box whose status is not `online` and that sent nothing for this long is offline. */
  boxOfflineMinutes: { flag: 'box-offline-minutes', env: 'MEALCHECK_BOX_OFFLINE_MINUTES', type: 'int', default: 15, min: 1, max: 24 * 60, doc: 'centre health: a box is offline when its status is not online and nothing came from it for this many minutes' },
  /** Centre health: how long after a meal window's end a usually served meal with none today is `silent`. */
  silentGraceMinutes: { flag: 'silent-grace-minutes', env: 'MEALCHECK_SILENT_GRACE_MINUTES', type: 'int', default: 30, min: 0, max: 12 * 60, doc: 'centre health: a meal usually served but with none today is silent this many minutes after its window ends' },
  /** Welfare list: counted meals at a centre in the last 28 days that make an elder a regular there. */
  welfareMinMeals: { flag: 'welfare-min-meals', env: 'MEALCHECK_WELFARE_MIN_MEALS', type: 'int', default: 8, min: 1, max: 84, doc: 'welfare list: an elder with at least this many meals at a centre in the last 28 days is a regular there' },
  /** Welfare list: days without a meal (at any centre) from which a regular is listed for the centre to call. */
  welfareAbsentDays: { flag: 'welfare-absent-days', env: 'MEALCHECK_WELFARE_ABSENT_DAYS', type: 'int', default: 3, min: 1, max: 27, doc: 'welfare list: a regular with no meal for this many days is listed for the centre to call' },
  logLevel: {
    flag: 'log-level',
    env: 'MEALCHECK_LOG_LEVEL',
    type: 'string',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'log level',
  },
} as const satisfies SettingsSpec;

export type ServerSettings = SettingsOf<typeof serverSettingsSpec>;

/** Reads settings from argv and env, reporting every problem at once (throws ConfigError). */
export function readServerSettings(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const s = readSettings(serverSettingsSpec, parseArgs(argv), env);
  if (s.mqttCa !== undefined) {
    const problem = s.mqttUrl === undefined ? '--mqtt-ca: only for an external broker (--mqtt-url); the embedded broker has no TLS' : pemFileProblem('mqtt-ca', s.mqttCa);
    if (problem) throw new ConfigError([problem]);
  }
  return s;
}

/** Settings with every default filled in, for tests and embedding; overrides win. */
export function serverSettings(overrides: Partial<ServerSettings> = {}): ServerSettings {
  return { ...readSettings(serverSettingsSpec, parseArgs([]), {}), ...overrides };
}
