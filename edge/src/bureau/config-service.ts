/**
 * Applies the centre's config document the server sends down (common/contract.ts
 * CentreConfigSchema, retained on `topics.config(centreId)`; the forwarder hands each payload
 * here). A payload that is too large, not JSON, off the schema or for another centre is logged,
 * counted and ignored; a version not newer than the one applied is ignored too (a retained
 * message again after a reconnect, a replay). Nothing here throws at the MQTT client.
 *
 * A new version is applied in ONE transaction, so a kill -9 leaves either all of it or none (and
 * the retained message brings it again):
 * - the document itself (edge migration 011), so a restart offline applies it again;
 * - the bureau's elders: status -> the elder's registry status on the box (forwarded and audited,
 *   registry-service.ts applyBureauStatus), kept as the bureau's word (the registry refuses staff
 *   changes against it; the staff pages say the bureau set it, and since when);
 * - each erasure not done yet: every face template of the elder and every review crop that may
 *   show them deleted, audited with the counts;
 * - an `ack` record in the outbox naming the version and every erasure of the document with
 *   its counts (outbox + receipts: an ack survives a box offline or killed).
 * Then (after the commit) `onApplied` reloads the matcher, wakes the forwarder and hands the meal
 * windows and time zone on (the composition root decides what they override, main.ts).
 *
 * The subsidy rules come with the document and stay in it (no table of their own): `rules()`
 * reads the applied document's items this box understands (readConfigRules) for the status and
 * the health page; an item of a later rule format is skipped and counted, never fatal.
 */
import { parseCentreConfig, readConfigRules, type CentreConfig, type ConfigRule } from '../../../common/contract.ts';
import type { Clock, Ids } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import type { AckRecord } from '../../../common/records.ts';
import type { Db } from '../../../common/sqlite.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ElderRepository } from '../elders/elder-repository.ts';
import type { ElderRegistry } from '../elders/registry-service.ts';
import type { ReviewRepository } from '../review/review-repository.ts';
import type { OutboxRepository } from '../sync/outbox-repository.ts';
import type { CentreConfigRepository } from './config-repository.ts';

export interface ConfigCounters {
  /** Versions applied by this run. */
  applied: number;
  /** Versions not newer than the one applied (a retained message again). */
  stale: number;
  /** Payloads refused: not JSON, off the schema, over the size bound, another centre's. */
  malformed: number;
}

export interface AppliedConfig {
  document: CentreConfig;
  /** Elders whose status on the box changed. */
  statusChanges: number;
  /** Erasures carried out now (not those done before). */
  erasures: Array<{ erasureId: string; elderId: string; templates: number; crops: number }>;
  /** Elders forwarded again with their ID number sealed to the document's key. */
  resealed: number;
}

/** The subsidy rules of the applied document, as staff see them. */
export interface AppliedRules {
  /** The document's version; null before the first. */
  version: number | null;
  appliedAt: string | null;
  rules: ConfigRule[];
  /** Items of the document this box could not read (a later rule format). */
  skipped: number;
}

export interface ConfigService {
  /** A payload from the config topic. Never throws. */
  receive(payload: Buffer): AppliedConfig | 'ignored';
  /** The document applied last (stored), or undefined. */
  applied(): { version: number; document: CentreConfig; appliedAt: string } | undefined;
  counters(): ConfigCounters;
  /** The applied document's subsidy rules. */
  rules(): AppliedRules;
}

export interface ConfigServiceDeps {
  db: Db;
  centreId: string;
  deviceId: string;
  configs: CentreConfigRepository;
  registry: Pick<ElderRegistry, 'applyBureauStatus' | 'resealIdNumbers'>;
  elders: Pick<ElderRepository, 'deleteTemplates'>;
  reviews: Pick<ReviewRepository, 'dropCropsOf'>;
  audit: Pick<AuditLog, 'append'>;
  outbox: Pick<OutboxRepository, 'enqueue'>;
  clock: Clock;
  ids: Ids;
  logger: Logger;
  /** After a version committed: reload the matcher, notify the forwarder, take the windows. */
  onApplied?: (applied: AppliedConfig) => void;
}

export function createConfigService(deps: ConfigServiceDeps): ConfigService {
  const { db, configs, registry, elders, reviews, audit, outbox, clock, ids, logger } = deps;
  const counters: ConfigCounters = { applied: 0, stale: 0, malformed: 0 };

  const applyTx = db.transaction((doc: CentreConfig): AppliedConfig => {
    const at = clock.now().toISOString();
    let statusChanges = 0;
    for (const e of doc.elders) if (registry.applyBureauStatus(e.elderId, e.status, e.since, doc.version)) statusChanges++;
    configs.replaceBureauElders(doc.elders, doc.version, at);
    const done: AppliedConfig['erasures'] = [];
    const acked: AckRecord['erasures'] = [];
    for (const x of doc.erasures) {
      let d = configs.erasureDone(x.erasureId);
      if (!d) {
        const templates = elders.deleteTemplates(x.elderId);
        const crops = reviews.dropCropsOf(x.elderId);
        d = { erasureId: x.erasureId, elderId: x.elderId, requestedAt: x.requestedAt, templates, crops, doneAt: at };
        configs.recordErasure(d);
        audit.append({ staffId: null, action: 'erasure', subject: x.elderId, details: { erasureId: x.erasureId, templates, crops, configVersion: doc.version } });
        done.push({ erasureId: x.erasureId, elderId: x.elderId, templates, crops });
      }
      acked.push({ erasureId: d.erasureId, elderId: d.elderId, templates: d.templates, crops: d.crops });
    }
    configs.storeApplied(doc, at);
    // The registry seals ID numbers to the key of the document just stored (its idNumberKey dep).
    const resealed = doc.idNumberKey ? registry.resealIdNumbers(doc.idNumberKey) : 0;
    const ack: AckRecord = { type: 'ack', eventId: ids.next(), centreId: deps.centreId, deviceId: deps.deviceId, at, configVersion: doc.version, erasures: acked };
    outbox.enqueue(ack, at);
    return { document: doc, statusChanges, erasures: done, resealed };
  });

  return {
    receive(payload) {
      try {
        // An empty retained message only clears the topic (an operator's `mosquitto_pub -r -n`).
        if (payload.length === 0) return 'ignored';
        const parsed = parseCentreConfig(payload);
        if (!parsed.ok) {
          counters.malformed++;
          logger.warn({ error: parsed.error, bytes: payload.length }, 'config document ignored: malformed');
          return 'ignored';
        }
        const doc = parsed.value;
        if (doc.centreId !== deps.centreId) {
          counters.malformed++;
          logger.warn({ centreId: doc.centreId, version: doc.version }, `config document ignored: it is for centre ${doc.centreId}, this box is ${deps.centreId}`);
          return 'ignored';
        }
        const held = configs.applied();
        if (held && doc.version <= held.version) {
          counters.stale++;
          logger.info({ version: doc.version, applied: held.version }, 'config document ignored: not newer than the one applied');
          return 'ignored';
        }
        const applied = applyTx.immediate(doc);
        counters.applied++;
        const read = readConfigRules(doc.rules);
        logger.info({ version: doc.version, elders: doc.elders.length, statusChanges: applied.statusChanges, erasures: applied.erasures.length, rules: read.rules.length, resealed: applied.resealed }, 'config document applied');
        if (read.skipped > 0) logger.warn({ version: doc.version, skipped: read.skipped }, `config document: ${read.skipped} subsidy rule(s) of a format this box does not know were skipped (update the box)`);
        try {
          deps.onApplied?.(applied);
        } catch (err) {
          logger.error({ err }, 'config applied, but what follows it failed');
        }
        return applied;
      } catch (err) {
        // Nothing applied (rolled back): the retained message comes again at the next connect.
        logger.error({ err }, 'config document not applied');
        return 'ignored';
      }
    },
    applied: () => configs.applied(),
    counters: () => ({ ...counters }),
    rules() {
      const held = configs.applied();
      if (!held) return { version: null, appliedAt: null, rules: [], skipped: 0 };
      return { version: held.version, appliedAt: held.appliedAt, ...readConfigRules(held.document.rules) };
    },
  };
}
