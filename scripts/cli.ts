/**
 * `mealcheck <command>`: one entry point for the server, the edge, enrolment and the demo.
 * Each command validates its settings once, reporting every problem together, and exits
 * non-zero with a clear message on bad input instead of a stack trace.
 */
import { ConfigError, describeSettings, parseOptions, type CommandSpec } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { edgeSettings, loadEdgeConfig } from '../edge/src/config.ts';
import { EnrolmentError, enrolElder } from '../edge/src/elders/enrolment.ts';
import { createElderRepository } from '../edge/src/elders/elder-repository.ts';
import { openEdgeDatabase } from '../edge/src/edge-database.ts';
import { loadConsentTexts } from '../edge/src/elders/consent-texts.ts';
import { commandRegistry, REGISTRY_OPTIONS } from '../edge/src/elders/elder-command.ts';
import { ElderInputError, validConsent } from '../edge/src/elders/registry-service.ts';
import { decisionDefaults, DEFAULT_RECOGNIZER } from '../edge/src/vision/models.ts';
import { ENROLMENT_TINY_FIRST, FaceApiEngine } from '../edge/src/vision/face-api-engine.ts';
import { ModelError } from '../edge/src/vision/face-engine.ts';
import { readServerSettings, serverSettingsSpec } from '../server/src/config.ts';
import { join } from 'node:path';

const USAGE = `mealcheck: face-recognition meal check-in for elder-care centres

  mealcheck server [--data DIR] [--http-port N] [--mqtt-port N | --mqtt-url URL]
  mealcheck edge   --centre ID --device ID [--data DIR] [--server URL] [--camera SOURCE] [--http-port N]
  mealcheck enrol  --data DIR --elder ID [--name NAME] [--consent-version V --signed-by elder|guardian [--guardian NAME]] --centre ID --device ID --staff ID [--allow-lookalike] PHOTO...
  mealcheck elder list --data DIR | elder remove|suspend|reactivate --data DIR --elder ID --centre ID --device ID --staff ID
  mealcheck backup [--server] [--data DIR] --out FILE        online backup (edge: sealed templates, never the key)
  mealcheck restore [--server] [--data DIR] --from FILE [--force]   put a backup back (program stopped)
  mealcheck templates status|reset-key --data DIR [--template-key FILE]   the face templates' key (encrypted at rest)
  mealcheck staff add --role staff|manager --name NAME [--id ID] [--pin-stdin] [--data DIR]   (also: list, remove --id ID)
  mealcheck audit verify [--data DIR] | audit verify --server [--data DIR]   (also: audit list)
  mealcheck demo   [--once] [--json]
  mealcheck camera-check --camera SOURCE [--seconds N] [--json] [--data DIR]
  mealcheck device add --centre ID --device ID [--data DIR]   (also: remove, list)
  mealcheck centre set --centre ID [--time-zone TZ] [--meal-windows SPEC] [--name NAME] [--district ID] [--data DIR]   (also: district, list)
  mealcheck user add --user ID --name NAME --role admin|analyst|manager|auditor [--district ID,...] [--centre ID]   (also: passwd, disable, enable, list)
  mealcheck month close --month YYYY-MM [--data DIR]          (also: list)
  mealcheck category set --code CODE --name NAME [--data DIR]  (also: list)   elder categories
  mealcheck rule add --category CODE --meal M --amount YUAN --from DATE [...]  (also: end, remove, list)   subsidy rules
  mealcheck erasure request --centre ID --elder ID --reason TEXT [--data DIR]   (also: list)
  mealcheck broker-config [--data DIR] [--out DIR]            Mosquitto password, ACL and config files
  mealcheck eval   --faces DIR [--json] [--sweep] [--model NAME]

Run \`mealcheck <command> --help\` for every setting of a command.`;

/** Resolves on SIGINT/SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

async function serverCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(`mealcheck server [options]\n\n${describeSettings(serverSettingsSpec)}`);
    return 0;
  }
  const settings = readServerSettings(argv);
  const { startServer } = await import('../server/src/server.ts');
  const server = await startServer(settings, { logger: createLogger('server', settings.logLevel) });
  console.log(`mealcheck server: HTTP ${server.httpUrl}, MQTT ${server.mqttUrl}${server.embeddedBroker ? ' (embedded broker)' : ''}`);
  if (server.tokenGenerated) console.log(`admin token (generated, stored in ${join(settings.dataDir, 'admin-token')}): ${server.token}`);
  await untilSignal();
  await server.stop();
  return 0;
}

async function edgeCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(`mealcheck edge [options]\n\n${describeSettings(edgeSettings)}`);
    return 0;
  }
  const config = loadEdgeConfig(argv);
  const { startEdge } = await import('../edge/src/main.ts');
  const edge = await startEdge(config);
  console.log(`mealcheck edge ${config.centreId}/${config.deviceId}: status ${edge.statusUrl}/api/v1/status`);
  console.log(`staff pages ${edge.staffUrl}`);
  console.log(`kiosk page  ${edge.kioskUrl}`);
  if (edge.staff.countManagers() === 0) console.log(`no staff accounts yet: mealcheck staff add --data ${config.dataDir} --role manager --name NAME`);
  await untilSignal();
  await edge.stop();
  return 0;
}

const ENROL = {
  usage: 'mealcheck enrol --data DIR --elder ID [--name NAME] [--consent-version V --signed-by elder|guardian [--guardian NAME] [--signed-on YYYY-MM-DD]] --centre ID --device ID --staff ID [--model ID] [--allow-lookalike] PHOTO...',
  about: `Stores one face template per photo in the edge database at DIR.
No face without consent: the elder must have a signed consent to face recognition on record.
Record it here with --signed-by elder (or --signed-by guardian --guardian NAME), on the consent
text --consent-version (default: the newest in --consent-dir); an elder not yet registered is
registered with --name. Both are forwarded to the server under --centre/--device, by --staff.
Each photo must show exactly one face. A face that looks like another enrolled elder
(within the model's look-alike distance, where photos of one person usually sit) is refused, naming that elder; --allow-lookalike
enrols it anyway (a twin or sibling staff have checked).
A running edge on the same data folder picks the new templates up within a few seconds.`,
  options: {
    dataDir: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', required: true, arg: 'DIR', doc: 'the edge data folder' },
    elderId: { flag: 'elder', type: 'string', required: true, arg: 'ID', doc: "the elder's id" },
    name: { flag: 'name', type: 'string', default: undefined, arg: 'NAME', doc: "the elder's name: registers an elder not yet registered" },
    consentVersion: { flag: 'consent-version', type: 'string', default: undefined, arg: 'V', doc: 'the consent text signed (default: the newest); with --signed-by' },
    signedBy: { flag: 'signed-by', type: 'string', default: undefined, choices: ['elder', 'guardian'], doc: 'records the signed consent: by the elder, or a guardian (--guardian NAME)' },
    guardian: { flag: 'guardian', type: 'string', default: undefined, arg: 'NAME', doc: 'the guardian who signed (with --signed-by guardian)' },
    signedOn: { flag: 'signed-on', type: 'string', default: undefined, arg: 'YYYY-MM-DD', doc: 'the day the consent was signed (default: today)' },
    ...REGISTRY_OPTIONS,
    allowLookalike: { flag: 'allow-lookalike', type: 'boolean', default: false, doc: 'enrol a face that looks like another enrolled elder' },
    models: { flag: 'models', env: 'MEALCHECK_MODELS', type: 'string', default: undefined, arg: 'DIR', doc: 'face model folder, by default models/' },
    backend: { flag: 'backend', type: 'string', default: 'auto', choices: ['auto', 'tensorflow', 'wasm', 'cpu'], doc: 'tfjs backend' },
    model: { flag: 'model', env: 'MEALCHECK_MODEL', type: 'string', default: DEFAULT_RECOGNIZER, arg: 'ID', doc: "recognition model (models/manifest.json recognizers), the edge's --model" },
  },
  positional: { name: 'PHOTO', doc: 'a photo of the elder, one face', min: 1 },
} as const satisfies CommandSpec;

async function enrolCommand(argv: string[]): Promise<number> {
  const p = parseOptions(argv, ENROL);
  if (p.help !== undefined) {
    console.log(p.help);
    return 0;
  }
  const o = p.options;
  const { dataDir, elderId, models, backend, allowLookalike, model } = o;
  const { lookalikeDistance } = decisionDefaults(model);
  const problems: string[] = [];
  if (o.guardian !== undefined && o.signedBy !== 'guardian') problems.push('--guardian NAME goes with --signed-by guardian');
  if ((o.consentVersion !== undefined || o.signedOn !== undefined) && o.signedBy === undefined) problems.push('--consent-version and --signed-on record a consent: give --signed-by elder|guardian too');
  if (problems.length) throw new ConfigError(problems);

  const db = openEdgeDatabase(join(dataDir, 'edge.db'));
  let engine: FaceApiEngine | undefined;
  try {
    const elders = createElderRepository(db);
    const existing = elders.getElder(elderId);
    const consent = o.signedBy ? { signedBy: o.signedBy, ...(o.consentVersion ? { textVersion: o.consentVersion } : {}), ...(o.guardian ? { guardianName: o.guardian } : {}), ...(o.signedOn ? { signedOn: o.signedOn } : {}) } : undefined;
    if (!existing && o.name === undefined) throw new ConfigError([`no elder ${elderId} is registered: give --name NAME to register them (with their consent: --signed-by elder|guardian)`]);
    // The registry is written only when something is to be recorded, so enrolling more photos of a
    // registered elder with consent needs no --centre/--device/--staff.
    if (!existing || consent || (o.name !== undefined && o.name.trim() !== existing.name)) {
      const { registry, staffId } = commandRegistry(db, o, existing ? 'record the consent' : 'register the elder');
      try {
        if (!existing) registry.create({ elderId, name: o.name! }, staffId, consent);
        else {
          if (o.name !== undefined && o.name.trim() !== existing.name) registry.update(elderId, { name: o.name }, staffId);
          if (consent) registry.recordConsent(elderId, consent, staffId);
        }
      } catch (err) {
        if (err instanceof ElderInputError) throw new ConfigError(err.problems);
        throw err;
      }
      console.log(existing ? `recorded for ${elderId}: ${consent ? 'consent' : 'name'}` : `registered ${elderId} ${o.name!.trim()}${consent ? ' with consent' : ''}`);
    }
    const texts = loadConsentTexts(o.consentDir);
    if (!validConsent(elders, texts, elderId)) {
      throw new ConfigError([`elder ${elderId} has no signed consent to face recognition on record, so no face is enrolled: record it with --signed-by elder (or --signed-by guardian --guardian NAME) [--consent-version V] --centre ID --device ID --staff ID`]);
    }
    const logger = createLogger('enrol');
    engine = new FaceApiEngine({ modelsDir: models, logger, backend, antispoof: false, recognizer: model, tinyFirst: ENROLMENT_TINY_FIRST, deferRecognition: true });
    // enrolElder starts the engine once it has read the photos (and decoded the costly ones).
    const result = await enrolElder({
      engine,
      elders: { ...elders, validConsent: (id) => validConsent(elders, texts, id), transaction: (fn) => db.transaction(fn)() },
      elderId,
      photos: p.positional,
      allowLookalike,
      lookalikeDistance,
      ...(o.staffId ? { staffId: o.staffId } : {}),
    });
    console.log(`enrolled ${result.elderId} ${result.name}: ${result.templates.length} template(s) (${elders.countTemplates(result.elderId)} in all)`);
    for (const t of result.templates) console.log(`  ${t.photo}: face ${Math.round(t.box.width)}x${Math.round(t.box.height)} px, score ${t.score.toFixed(2)}`);
    console.log('a running edge picks this up within a few seconds (no restart needed)');
    return 0;
  } finally {
    await engine?.stop();
    db.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'server':
        return await serverCommand(rest);
      case 'edge':
        return await edgeCommand(rest);
      case 'enrol':
      case 'enroll':
        return await enrolCommand(rest);
      case 'elder': {
        const { elderCommand } = await import('../edge/src/elders/elder-command.ts');
        return await elderCommand(rest);
      }
      case 'backup': {
        const { backupCommand } = await import('./backup-command.ts');
        return await backupCommand(rest);
      }
      case 'restore': {
        const { restoreCommand } = await import('./backup-command.ts');
        return await restoreCommand(rest);
      }
      case 'templates': {
        const { templateCommand } = await import('../edge/src/elders/template-command.ts');
        return await templateCommand(rest);
      }
      case 'staff': {
        const { staffCommand } = await import('../edge/src/staff/staff-command.ts');
        return await staffCommand(rest);
      }
      case 'audit': {
        if (rest.includes('--server')) {
          const { serverAuditCommand } = await import('../server/src/modules/audit/audit-command.ts');
          return await serverAuditCommand(rest);
        }
        const { auditCommand } = await import('../edge/src/audit/audit-command.ts');
        return await auditCommand(rest);
      }
      case 'eval': {
        const { evalCommand } = await import('./eval/eval.ts');
        return await evalCommand(rest);
      }
      case 'device': {
        const { deviceCommand } = await import('../server/src/modules/devices/device-command.ts');
        return await deviceCommand(rest);
      }
      case 'user': {
        const { userCommand } = await import('../server/src/modules/users/user-command.ts');
        return await userCommand(rest);
      }
      case 'centre': {
        const { centreCommand } = await import('../server/src/modules/centres/centre-command.ts');
        return await centreCommand(rest);
      }
      case 'category': {
        const { categoryCommand } = await import('../server/src/modules/settlement/settlement-command.ts');
        return await categoryCommand(rest);
      }
      case 'rule': {
        const { ruleCommand } = await import('../server/src/modules/settlement/settlement-command.ts');
        return await ruleCommand(rest);
      }
      case 'month': {
        const { monthCommand } = await import('../server/src/modules/months/month-command.ts');
        return await monthCommand(rest);
      }
      case 'erasure': {
        const { erasureCommand } = await import('../server/src/modules/bureau/erasure-command.ts');
        return await erasureCommand(rest);
      }
      case 'camera-check': {
        const { cameraCheckCommand } = await import('./camera-check/camera-check.ts');
        return await cameraCheckCommand(rest);
      }
      case 'broker-config': {
        const { brokerConfigCommand } = await import('../server/src/modules/devices/broker-config.ts');
        return await brokerConfigCommand(rest);
      }
      case 'demo': {
        const { demoCommand } = await import('./demo/demo.ts');
        return await demoCommand(rest);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`${command.startsWith('-') ? `unknown option ${command}` : `unknown command "${command}"`}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`mealcheck ${command}: ${err.message}`);
      return 2;
    }
    if (err instanceof EnrolmentError) {
      console.error(`mealcheck enrol: refused, nothing stored:\n${err.problems.map((p) => `  - ${p.message}`).join('\n')}`);
      return 1;
    }
    if (err instanceof ModelError) {
      console.error(`mealcheck ${command}: ${err.message}`);
      return 1;
    }
    console.error(`mealcheck ${command}: ${(err as Error).message}`);
    if (process.env.MEALCHECK_DEBUG) console.error(err);
    return 1;
  }
}
