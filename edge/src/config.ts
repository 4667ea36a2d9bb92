/**
 * Edge settings: one spec (flag + env + default + doc) that validates at start, reporting every
 * problem at once, then maps to a typed config tree for the composition root.
 */
import { join } from 'node:path';
import { isValidId } from '../../common/contract.ts';
import { ConfigError, parseArgs, readSettings, type SettingsSpec } from '../../common/config.ts';
import type { BackendChoice } from './vision/face-engine.ts';
import { recognitionOptions, recognitionSettings } from './recognition/settings.ts';
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE, isValidTimeZone, MealWindowError, parseMealWindows, type MealWindow } from './meals/meal-windows.ts';

export const edgeSettings = {
  centreId: { flag: 'centre', env: 'MEALCHECK_CENTRE', type: 'string', required: true, doc: 'id of this centre (letters, digits, _ . -)' },
  deviceId: { flag: 'device', env: 'MEALCHECK_DEVICE', type: 'string', required: true, doc: 'id of this edge box within the centre' },
  dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/edge', doc: 'folder for the edge database (face templates and meals stay here)' },
  serverMqttUrl: { flag: 'server', env: 'MEALCHECK_SERVER', type: 'string', default: 'mqtt://127.0.0.1:1883', doc: 'MQTT broker URL of the server (mqtt:// or mqtts://)' },
  mqttUsername: { flag: 'mqtt-username', env: 'MEALCHECK_MQTT_USERNAME', type: 'string', doc: 'MQTT user name' },
  mqttProtocol: { flag: 'mqtt-protocol', env: 'MEALCHECK_MQTT_PROTOCOL', type: 'string', default: '5', choices: ['5', '4'], doc: 'MQTT protocol asked for first: 5, or 4 (3.1.1); a broker that refuses 5 gets 3.1.1 anyway' },
  mqttPassword: { flag: 'mqtt-password', env: 'MEALCHECK_MQTT_PASSWORD', type: 'string', doc: 'MQTT password (prefer the environment variable: flags show in ps)' },
  camera: { flag: 'camera', env: 'MEALCHECK_CAMERA', type: 'string', doc: 'camera source; for now a folder of JPEG/PNG images' },
  fps: { flag: 'fps', env: 'MEALCHECK_FPS', type: 'number', default: 5, min: 0.1, max: 30, doc: 'frames per second to analyse' },
  httpPort: { flag: 'http-port', env: 'MEALCHECK_EDGE_HTTP_PORT', type: 'int', default: 8081, min: 0, max: 65535, doc: 'local status/kiosk HTTP port on 127.0.0.1 (0 = any free port)' },
  mealWindows: { flag: 'meal-windows', env: 'MEALCHECK_MEAL_WINDOWS', type: 'string', default: DEFAULT_MEAL_WINDOWS, doc: 'meal windows in the centre\'s local time, meal=HH:MM-HH:MM,...' },
  timeZone: { flag: 'time-zone', env: 'MEALCHECK_TIME_ZONE', type: 'string', default: DEFAULT_TIME_ZONE, doc: 'IANA time zone of the centre' },
  matchThreshold: { flag: 'match-threshold', env: 'MEALCHECK_MATCH_THRESHOLD', type: 'number', default: 0.45, min: 0, max: 2, doc: 'largest descriptor distance accepted as a match (calibrate with the evaluation tool)' },
  matchMargin: { flag: 'match-margin', env: 'MEALCHECK_MATCH_MARGIN', type: 'number', default: 0.05, min: 0, max: 2, doc: 'required distance gap between the best and the second-best elder' },
  backend: { flag: 'backend', env: 'MEALCHECK_BACKEND', type: 'string', default: 'auto', choices: ['auto', 'tensorflow', 'wasm', 'cpu'], doc: 'tensor backend (cpu is ~20x slower and is never chosen by auto)' },
  modelsDir: { flag: 'models', env: 'MEALCHECK_MODELS', type: 'string', doc: 'folder of face models (default: the installed models/ folder)' },
  ...recognitionSettings,
} as const satisfies SettingsSpec;

export interface EdgeConfig {
  centreId: string;
  deviceId: string;
  dataDir: string;
  /** `${dataDir}/edge.db`. */
  dbFile: string;
  mqtt: { url: string; username?: string; password?: string; protocolVersion: 4 | 5 };
  /** Camera source; for now a folder of images. Unset: recognition is off. */
  camera?: string;
  fps: number;
  /**
   * Play a folder source at `fps` in real time (default). Not a setting: the demo and tests
   * set false to read frames as fast as the engine takes them.
   */
  realtime?: boolean;
  /** Pipeline options from the recognition settings (min face size, votes, attempts). */
  recognition: ReturnType<typeof recognitionOptions>;
  http: { host: '127.0.0.1'; port: number };
  meals: { windows: MealWindow[]; timeZone: string };
  match: { threshold: number; margin: number };
  backend: BackendChoice;
  modelsDir?: string;
}

/** Reads argv and env, checks everything, and throws one ConfigError listing every problem. */
export function loadEdgeConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): EdgeConfig {
  const problems: string[] = [];
  const args = parseArgs(argv);
  let s;
  try {
    s = readSettings(edgeSettings, args, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  // Checks that need the raw values run even when readSettings failed, so all show at once.
  const raw = (key: keyof typeof edgeSettings): string | undefined => {
    const spec = edgeSettings[key];
    const v = args.flags.get(spec.flag) ?? env[spec.env];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  for (const key of ['centreId', 'deviceId'] as const) {
    const v = raw(key);
    if (v !== undefined && !isValidId(v)) problems.push(`--${edgeSettings[key].flag}: "${v}" is not a valid id (letters, digits, "_", "." and "-", at most 64, not starting with a symbol)`);
  }
  let windows: MealWindow[] = [];
  try {
    windows = parseMealWindows(raw('mealWindows') ?? DEFAULT_MEAL_WINDOWS);
  } catch (err) {
    if (!(err instanceof MealWindowError)) throw err;
    problems.push(...err.problems.map((p) => `--meal-windows: ${p}`));
  }
  const tz = raw('timeZone') ?? DEFAULT_TIME_ZONE;
  if (!isValidTimeZone(tz)) problems.push(`--time-zone: "${tz}" is not an IANA time zone (e.g. Asia/Shanghai)`);
  const url = raw('serverMqttUrl');
  if (url !== undefined) {
    let protocol: string | undefined;
    try {
      protocol = new URL(url).protocol;
    } catch {
      protocol = undefined;
    }
    if (!protocol || !['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'].includes(protocol)) problems.push(`--server: "${url}" is not an MQTT URL (e.g. mqtt://host:1883)`);
  }
  if (problems.length || !s) throw new ConfigError(problems);

  const cfg: EdgeConfig = {
    centreId: s.centreId,
    deviceId: s.deviceId,
    dataDir: s.dataDir,
    dbFile: join(s.dataDir, 'edge.db'),
    mqtt: { url: s.serverMqttUrl, protocolVersion: s.mqttProtocol === '4' ? 4 : 5 },
    fps: s.fps,
    http: { host: '127.0.0.1', port: s.httpPort },
    meals: { windows, timeZone: tz },
    match: { threshold: s.matchThreshold, margin: s.matchMargin },
    backend: s.backend as BackendChoice,
    recognition: recognitionOptions(s),
  };
  if (s.mqttUsername !== undefined) cfg.mqtt.username = s.mqttUsername;
  if (s.mqttPassword !== undefined) cfg.mqtt.password = s.mqttPassword;
  if (s.camera !== undefined) cfg.camera = s.camera;
  if (s.modelsDir !== undefined) cfg.modelsDir = s.modelsDir;
  return cfg;
}
