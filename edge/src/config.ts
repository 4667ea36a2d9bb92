/**
 * Edge settings: one spec (flag + env + default + doc) that validates at start, reporting every
 * problem at once, then maps to a typed config tree for the composition root.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { isValidId } from '../../common/contract.ts';
import { ConfigError, parseArgs, pemFileProblem, readSettings, type SettingsSpec } from '../../common/config.ts';
import type { BackendChoice } from './vision/face-engine.ts';
import { CameraSpecError, parseCameraList, parseFrameSize } from './capture/camera-spec.ts';
import type { DetectorName } from './vision/worker-protocol.ts';
import { recognitionOptions, recognitionSettings } from './recognition/settings.ts';
import { DEFAULT_ELDER_CATEGORIES } from './elders/registry-service.ts';
import { loadConsentTexts } from './elders/consent-texts.ts';
import { defaultTemplateKeyFile } from './elders/template-vault.ts';
import { decisionDefaults, DEFAULT_RECOGNIZER, recognizerIds } from './vision/models.ts';
import { KIOSK_NAME_MODES, type KioskNameMode } from './kiosk/name-mask.ts';
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE, isValidTimeZone, MealWindowError, parseMealWindows, type MealWindow } from '../../common/meal-windows.ts';

/**
 * Default of `--antispoof-threshold`: 0 = off, a placeholder until a threshold is measured on
 * live faces and photos/screens with the engine's antispoof model. Set the measured value HERE
 * (then `npm run docs`); the check-in service treats 0 as "never hold".
 */
export const DEFAULT_ANTISPOOF_THRESHOLD = 0;

export const edgeSettings = {
  centreId: { flag: 'centre', env: 'MEALCHECK_CENTRE', type: 'string', required: true, doc: 'id of this centre (letters, digits, _ . -)' },
  deviceId: { flag: 'device', env: 'MEALCHECK_DEVICE', type: 'string', required: true, doc: 'id of this edge box within the centre' },
  dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: './data/edge', doc: 'folder for the edge database (face templates and meals stay here)' },
  /** The key that seals face templates at rest (edge/src/elders/template-vault.ts): outside the data folder. */
  templateKey: { flag: 'template-key', env: 'MEALCHECK_TEMPLATE_KEY', type: 'string', default: undefined, doc: 'file of the key that encrypts the face templates (AES-256-GCM), created at first start, mode 0600; keep it outside the data folder and out of its backups (default: <data folder>.key, e.g. ./data/edge.key)' },
  serverMqttUrl: { flag: 'server', env: 'MEALCHECK_SERVER', type: 'string', default: 'mqtt://127.0.0.1:1883', doc: 'MQTT broker URL of the server (mqtt:// or mqtts://)' },
  mqttUsername: { flag: 'mqtt-username', env: 'MEALCHECK_MQTT_USERNAME', type: 'string', doc: 'MQTT user name' },
  outboxAlarm: {
    flag: 'outbox-alarm',
    env: 'MEALCHECK_OUTBOX_ALARM',
    type: 'int',
    default: 5000,
    min: 1,
    doc: 'meals waiting for the server at which the edge raises an alarm (status outboxAlarm, OUTBOX ALARM in the log)',
  },
  mqttProtocol: { flag: 'mqtt-protocol', env: 'MEALCHECK_MQTT_PROTOCOL', type: 'string', default: '5', choices: ['5', '4'], doc: 'MQTT protocol asked for first: 5, or 4 (3.1.1); a broker that refuses 5 gets 3.1.1 anyway' },
  mqttCa: { flag: 'mqtt-ca', env: 'MEALCHECK_MQTT_CA', type: 'string', doc: 'PEM file of the CA that signed the broker\'s TLS certificate (mqtts://, e.g. the ca.crt of a private CA); default: the system\'s CAs' },
  mqttPassword: { flag: 'mqtt-password', env: 'MEALCHECK_MQTT_PASSWORD', type: 'string', doc: 'MQTT password (prefer the environment variable: flags show in ps)' },
  camera: {
    flag: 'camera',
    env: 'MEALCHECK_CAMERA',
    type: 'string',
    doc: 'camera sources, comma-separated, each optionally NAME=SOURCE: /dev/videoN, rtsp://... or http(s)://... (video stream), snapshot+http(s)://... (JPEG polled at --fps), a video file, or a folder of JPEG/PNG images',
  },
  cameraSize: { flag: 'camera-size', env: 'MEALCHECK_CAMERA_SIZE', type: 'string', default: '640x480', doc: 'WIDTHxHEIGHT of the frames taken from devices, streams and video files (scaled to fit, aspect kept)' },
  cameraLoop: { flag: 'camera-loop', env: 'MEALCHECK_CAMERA_LOOP', type: 'boolean', default: false, doc: 'play a video file or folder camera again from the start when it ends' },
  fps: { flag: 'fps', env: 'MEALCHECK_FPS', type: 'number', default: 5, min: 0.1, max: 30, doc: 'frames per second to analyse' },
  httpPort: { flag: 'http-port', env: 'MEALCHECK_EDGE_HTTP_PORT', type: 'int', default: 8081, min: 0, max: 65535, doc: 'HTTP port of the kiosk, status and staff pages, on 127.0.0.1 (0 = any free port)' },
  staffHost: {
    flag: 'staff-host',
    env: 'MEALCHECK_STAFF_HOST',
    type: 'string',
    check: (v: string) => (isIP(v) ? undefined : `expected this box's IP address on the centre's LAN (e.g. 192.168.1.20), or 0.0.0.0 for every interface, got "${v}"`),
    doc: "also serve the staff pages (same port) on this LAN address of the box, e.g. 192.168.1.20, or 0.0.0.0 for every interface, so tablets reach http://ADDRESS:PORT/staff/ (plain HTTP: use it on the centre's own network only); unset: this box only",
  },
  mealWindows: { flag: 'meal-windows', env: 'MEALCHECK_MEAL_WINDOWS', type: 'string', default: DEFAULT_MEAL_WINDOWS, doc: 'meal windows in the centre\'s local time, meal=HH:MM-HH:MM,...' },
  timeZone: { flag: 'time-zone', env: 'MEALCHECK_TIME_ZONE', type: 'string', default: DEFAULT_TIME_ZONE, doc: 'IANA time zone of the centre' },
  model: {
    flag: 'model',
    env: 'MEALCHECK_MODEL',
    type: 'string',
    default: DEFAULT_RECOGNIZER,
    doc: `face recognition model: a recognizer of models/manifest.json (${recognizerIds().join(', ')}); templates are per model, so enrol with the same one`,
  },
  // Unset: the model's own calibrated defaults (models/manifest.json, scripts/eval/CALIBRATION.md).
  matchThreshold: { flag: 'match-threshold', env: 'MEALCHECK_MATCH_THRESHOLD', type: 'number', default: undefined, min: 0, max: 2, doc: "largest descriptor distance accepted as a match (default: the model's calibrated value in models/manifest.json)" },
  matchMargin: { flag: 'match-margin', env: 'MEALCHECK_MATCH_MARGIN', type: 'number', default: undefined, min: 0, max: 2, doc: "required distance gap between the best and the second-best elder (default: the model's)" },
  matchCohortRatio: { flag: 'match-cohort-ratio', env: 'MEALCHECK_MATCH_COHORT_RATIO', type: 'number', default: undefined, min: 0.01, max: 1, doc: "best distance over the mean distance to the next 5 elders must be at most this (1 = off; default: the model's)" },
  matchMeanTemplates: { flag: 'match-mean-templates', env: 'MEALCHECK_MATCH_MEAN_TEMPLATES', type: 'boolean', default: true, doc: 'also match against each elder\'s mean template' },
  antispoofThreshold: {
    flag: 'antispoof-threshold',
    env: 'MEALCHECK_ANTISPOOF_THRESHOLD',
    type: 'number',
    default: DEFAULT_ANTISPOOF_THRESHOLD,
    min: 0,
    max: 1,
    doc: 'a recognised face whose anti-spoof score (0-1, median over the agreeing frames; higher = live) is below this is not checked in but held for staff confirmation (0 = off; faces without a score are never held)',
  },
  backend: { flag: 'backend', env: 'MEALCHECK_BACKEND', type: 'string', default: 'auto', choices: ['auto', 'tensorflow', 'wasm', 'cpu'], doc: 'tensor backend (cpu is ~20x slower and is never chosen by auto)' },
  modelsDir: { flag: 'models', env: 'MEALCHECK_MODELS', type: 'string', doc: 'folder of face models (default: the installed models/ folder)' },
  detector: {
    flag: 'detector',
    env: 'MEALCHECK_DETECTOR',
    type: 'string',
    default: 'tinyFaceDetector',
    choices: ['tinyFaceDetector', 'ssdMobilenetv1'],
    doc: 'face detector on camera frames: tinyFaceDetector (~10x faster on wasm; finds the faces at a door) or ssdMobilenetv1 (finds smaller faces, ~250 ms a frame on wasm)',
  },
  detectorInputSize: {
    flag: 'detector-input-size',
    env: 'MEALCHECK_DETECTOR_INPUT_SIZE',
    type: 'int',
    default: 320,
    min: 128,
    max: 640,
    doc: 'tinyFaceDetector input size in px, a multiple of 32: larger finds smaller faces but costs more',
  },
  motionGate: {
    flag: 'motion-gate',
    env: 'MEALCHECK_MOTION_GATE',
    type: 'boolean',
    default: true,
    doc: 'skip face detection on frames where nothing moved and no face is being tracked (a static scene then costs ~3% of a core instead of ~37%: npm run bench, idle)',
  },
  elderCategories: {
    flag: 'elder-categories',
    env: 'MEALCHECK_ELDER_CATEGORIES',
    type: 'list',
    default: [...DEFAULT_ELDER_CATEGORIES],
    doc: "the bureau's elder categories, comma-separated: an elder's category is one of them (subsidies differ by category)",
  },
  consentDir: {
    flag: 'consent-dir',
    env: 'MEALCHECK_CONSENT_DIR',
    type: 'string',
    doc: 'folder of the consent texts an elder signs before a face is enrolled, <version>.zh-CN.md each; the newest version is the one new consents are taken on (default: the shipped edge/consent/)',
  },
  kioskName: {
    flag: 'kiosk-name',
    env: 'MEALCHECK_KIOSK_NAME',
    type: 'string',
    default: 'masked',
    choices: KIOSK_NAME_MODES,
    doc: "the elder's name on the kiosk screen: masked (王*英, not spoken: the screen faces the queue), full (shown and spoken) or none",
  },
  kioskVoice: {
    flag: 'kiosk-voice',
    env: 'MEALCHECK_KIOSK_VOICE',
    type: 'string',
    default: 'cmn',
    check: (v: string) => (/^[A-Za-z0-9][A-Za-z0-9_+-]{0,39}$/.test(v) ? undefined : `expected an espeak-ng voice name (espeak-ng --voices), e.g. cmn, or off, got "${v}"`),
    doc: 'espeak-ng voice the kiosk speaks with (cmn: Mandarin; espeak-ng --voices lists them), or off for no voice',
  },
  kioskSpeechRate: { flag: 'kiosk-speech-rate', env: 'MEALCHECK_KIOSK_SPEECH_RATE', type: 'int', default: 140, min: 80, max: 450, doc: "the kiosk voice's speed in words per minute (espeak-ng's own default is 175; slower suits elders)" },
  kioskVolume: { flag: 'kiosk-volume', env: 'MEALCHECK_KIOSK_VOLUME', type: 'int', default: 100, min: 0, max: 200, doc: "the kiosk voice's loudness, 0-200 (espeak-ng amplitude; 100 is normal); the screen's own volume adds to it" },
  reviewRetentionHours: {
    flag: 'review-retention-hours',
    env: 'MEALCHECK_REVIEW_RETENTION_HOURS',
    type: 'number',
    default: 24,
    min: 0.01,
    max: 720,
    doc: 'hours the face crop of an undecided review item (unknown face, doubtful match, anti-spoof or clock hold) is kept on the box; crops are also dropped when staff decide',
  },
  kioskShowSeconds: { flag: 'kiosk-show-seconds', env: 'MEALCHECK_KIOSK_SHOW_SECONDS', type: 'number', default: 5, min: 1, max: 60, doc: 'seconds the kiosk shows a name and message before it returns to the idle screen' },
  ...recognitionSettings,
} as const satisfies SettingsSpec;

export interface EdgeConfig {
  centreId: string;
  deviceId: string;
  dataDir: string;
  /** `${dataDir}/edge.db`. */
  dbFile: string;
  /** The template key file (`--template-key`, default `<dataDir>.key`). */
  templateKeyFile: string;
  mqtt: { url: string; username?: string; password?: string; caFile?: string; protocolVersion: 4 | 5; outboxAlarmThreshold: number };
  /** The `--camera` setting (see `parseCameraList`). Unset: recognition is off. */
  camera?: string;
  /** Frame size from ffmpeg-read cameras; default 640x480. */
  cameraSize?: { width: number; height: number };
  /** Loop video files and folders. */
  cameraLoop?: boolean;
  fps: number;
  /**
   * Play a folder source at `fps` in real time (default). Not a setting: the demo and tests
   * set false to read frames as fast as the engine takes them.
   */
  realtime?: boolean;
  /** Pipeline options from the recognition settings (min face size, votes, attempts). */
  recognition: ReturnType<typeof recognitionOptions>;
  /** `lanHost`: the `--staff-host` address the staff pages also listen on; unset: loopback only. */
  http: { host: '127.0.0.1'; port: number; lanHost?: string };
  meals: { windows: MealWindow[]; timeZone: string };
  /** The recognizer (models/manifest.json `recognizers` id) and its calibrated defaults. */
  model: string;
  match: { threshold: number; margin: number; cohortRatio: number; meanTemplates: boolean };
  /** Enrolment's look-alike distance for the model. */
  lookalikeDistance: number;
  /** Below this anti-spoof score a face check-in waits for staff confirmation; 0 = off. */
  antispoofThreshold: number;
  backend: BackendChoice;
  modelsDir?: string;
  /** Face detector on camera frames, and the tinyFaceDetector input size. */
  vision: { detector: DetectorName; inputSize: number };
  /** Skip detection on unchanged frames while no face is tracked. */
  motionGate: boolean;
  /** The elder registry: the bureau's categories, and the consent texts' folder (default: the shipped one). */
  elders: { categories: string[]; consentDir?: string };
  /** The kiosk page: name on screen, voice (null: none; WAVs cached in `audioDir`), seconds a message stays. */
  kiosk: { name: KioskNameMode; voice: string | null; speechRate: number; volume: number; showSeconds: number; audioDir: string };
  /** The review queue: crops of undecided items are dropped after this many ms. */
  review: { retentionMs: number };
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
  const inputSize = raw('detectorInputSize');
  if (inputSize !== undefined && Number.isInteger(Number(inputSize)) && Number(inputSize) % 32 !== 0) problems.push(`--detector-input-size: must be a multiple of 32, got ${inputSize}`);
  const camera = raw('camera');
  if (camera !== undefined) {
    try {
      parseCameraList(camera);
    } catch (err) {
      if (!(err instanceof CameraSpecError)) throw err;
      problems.push(...err.problems.map((p) => `--camera: ${p}`));
    }
  }
  const cameraSize = parseFrameSize(raw('cameraSize') ?? '640x480');
  if (!cameraSize) problems.push(`--camera-size: expected WIDTHxHEIGHT in even pixels, e.g. 640x480, got "${raw('cameraSize')}"`);
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
    else if (new URL(url).port === '0') problems.push(`--server: "${url}" has port 0; give the broker's real port (e.g. mqtt://host:1883)`);
  }
  const caFile = raw('mqttCa');
  const caProblem = caFile === undefined ? undefined : pemFileProblem('mqtt-ca', caFile);
  if (caProblem) problems.push(caProblem);
  const model = raw('model') ?? DEFAULT_RECOGNIZER;
  let decision: ReturnType<typeof decisionDefaults> | undefined;
  try {
    decision = decisionDefaults(model);
  } catch (err) {
    problems.push(`--model: ${(err as Error).message}`);
  }
  const categories = (s?.elderCategories ?? []).map((c) => c.trim()).filter((c) => c !== '');
  if (s && categories.length === 0) problems.push('--elder-categories: give at least one category (e.g. 特困,低保,高龄,普通)');
  if (s && categories.some((c) => c.length > 32)) problems.push('--elder-categories: a category has at most 32 characters');
  const consentDir = raw('consentDir');
  if (consentDir !== undefined) {
    try {
      loadConsentTexts(consentDir);
    } catch (err) {
      problems.push(`--consent-dir: ${(err as Error).message}`);
    }
  }
  if (problems.length || !s || !decision) throw new ConfigError(problems);

  const cfg: EdgeConfig = {
    centreId: s.centreId,
    deviceId: s.deviceId,
    dataDir: s.dataDir,
    dbFile: join(s.dataDir, 'edge.db'),
    templateKeyFile: s.templateKey ?? defaultTemplateKeyFile(join(s.dataDir, 'edge.db'), {}),
    mqtt: { url: s.serverMqttUrl, protocolVersion: s.mqttProtocol === '4' ? 4 : 5, outboxAlarmThreshold: s.outboxAlarm },
    fps: s.fps,
    http: { host: '127.0.0.1', port: s.httpPort },
    meals: { windows, timeZone: tz },
    model,
    match: { threshold: s.matchThreshold ?? decision.threshold, margin: s.matchMargin ?? decision.margin, cohortRatio: s.matchCohortRatio ?? decision.cohortRatio, meanTemplates: s.matchMeanTemplates },
    lookalikeDistance: decision.lookalikeDistance,
    antispoofThreshold: s.antispoofThreshold,
    backend: s.backend as BackendChoice,
    vision: { detector: s.detector as DetectorName, inputSize: s.detectorInputSize },
    motionGate: s.motionGate,
    recognition: recognitionOptions(s, decision),
    elders: { categories: [...new Set(categories)] },
    kiosk: { name: s.kioskName, voice: s.kioskVoice === 'off' ? null : s.kioskVoice, speechRate: s.kioskSpeechRate, volume: s.kioskVolume, showSeconds: s.kioskShowSeconds, audioDir: join(s.dataDir, 'kiosk-audio') },
    review: { retentionMs: Math.round(s.reviewRetentionHours * 3600_000) },
  };
  if (s.consentDir !== undefined) cfg.elders.consentDir = s.consentDir;
  if (s.mqttUsername !== undefined) cfg.mqtt.username = s.mqttUsername;
  if (s.mqttPassword !== undefined) cfg.mqtt.password = s.mqttPassword;
  if (s.mqttCa !== undefined) cfg.mqtt.caFile = s.mqttCa;
  if (s.camera !== undefined) cfg.camera = s.camera;
  if (s.staffHost !== undefined) cfg.http.lanHost = s.staffHost;
  if (cameraSize) cfg.cameraSize = cameraSize;
  cfg.cameraLoop = s.cameraLoop;
  if (s.modelsDir !== undefined) cfg.modelsDir = s.modelsDir;
  return cfg;
}
