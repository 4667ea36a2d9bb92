/**
 * Each centre's config document (common/contract.ts CentreConfigSchema) and its way down to the
 * boxes: built from the centre's settings (centres/), the bureau's decisions, the pending
 * erasures, the subsidy rules in force at the centre from today on (settlement/) and the server's
 * public ID-number key (elders/id-number-key.ts); issued with the next `version` whenever its content changes (server migration 010
 * `centre_configs`); published RETAINED, QoS 1, on `topics.config(centreId)`, so a box that
 * connects later gets the newest at once. At start every issued document is published again
 * (the embedded broker keeps retained messages in memory only).
 *
 * Changes made in this process (routes, acks) call `changed(centreId)`, or `changedAll()` for a
 * change of the city-wide rules. Changes made by another process on the same database
 * (`mealcheck centre set`, `mealcheck erasure request`, `mealcheck rule add`) are found by a poll
 * of a cheap stamp over the inputs, every `pollMs`; the stamp holds the day too, so a rule that
 * ended yesterday leaves the documents on the next day.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CONFIG_MAX_BYTES, CONFIG_MAX_RULES, CONFIG_RULE_VERSION, CONTRACT_VERSION, CentreConfigSchema, topics, type CentreConfig, type ConfigRule } from '../../../../common/contract.ts';
import type { Clock } from '../../../../common/clock.ts';
import type { Logger } from '../../../../common/logger.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { serviceDateOf } from '../../../../common/meal-windows.ts';
import type { CentreRepository } from '../centres/centre-repository.ts';
import type { EffectiveRules, SubsidyRuleRepository } from '../settlement/subsidy-rule-repository.ts';
import type { DecisionRepository } from './decision-repository.ts';
import type { ErasureRepository } from './erasure-repository.ts';
import { idNumberKeyOf } from '../elders/id-number-key.ts';

/** Publishes one retained message (the ingest's MQTT client); resolves on the broker's PUBACK. */
export type RetainedPublish = (topic: string, payload: string) => Promise<void>;

export interface IssuedConfig {
  document: CentreConfig;
  /** True when this call issued a new version. */
  issued: boolean;
}

export interface CentreConfigService {
  /** The newest issued document of a centre, or null. */
  current(centreId: string): CentreConfig | null;
  /**
   * Builds the centre's document and, when its content changed, issues the next version and
   * publishes it. Throws when the document would be over CONFIG_MAX_BYTES or its item limits.
   */
  refresh(centreId: string): IssuedConfig;
  /** Something of this centre changed: refresh it after the current transaction (setImmediate). */
  changed(centreId: string): void;
  /** Something of every centre changed (a category or subsidy rule): refresh them all, likewise. */
  changedAll(): void;
  /** Publishes every issued document, refreshes every centre, then polls for outside changes. */
  start(): void;
  stop(): void;
}

export interface CentreConfigDeps {
  db: Db;
  centres: CentreRepository;
  decisions: DecisionRepository;
  erasures: ErasureRepository;
  /** The subsidy rules (settlement/); none: the document's `rules` stay empty. */
  rules?: Pick<SubsidyRuleRepository, 'effectiveRules' | 'stamp'>;
  clock: Clock;
  logger: Logger;
  /** None: documents are issued but not published (an app without a broker, e.g. route tests). */
  publish?: RetainedPublish;
  /** How often to look for changes made by other processes; default 2 s. */
  pollMs?: number;
}

type Content = Omit<CentreConfig, 'version' | 'issuedAt'>;

const check = TypeCompiler.Compile(CentreConfigSchema);

export class ConfigTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigTooLargeError';
  }
}

/** The rules as a box gets them: the category's name (what the boxes record) beside its code. */
export function configRules(effective: EffectiveRules): ConfigRule[] {
  const names = new Map(effective.categories.map((c) => [c.code, c.name]));
  return effective.rules.map((r) => {
    const rule: ConfigRule = { v: CONFIG_RULE_VERSION, id: r.id, code: r.category, category: names.get(r.category) ?? r.category, meal: r.meal, amountFen: r.amountFen, effectiveFrom: r.effectiveFrom };
    if (r.maxPerDay !== null) rule.maxPerDay = r.maxPerDay;
    if (r.maxMealsPerMonth !== null) rule.maxMealsPerMonth = r.maxMealsPerMonth;
    if (r.maxFenPerMonth !== null) rule.maxFenPerMonth = r.maxFenPerMonth;
    if (r.effectiveTo !== null) rule.effectiveTo = r.effectiveTo;
    return rule;
  });
}

export function createCentreConfigService(deps: CentreConfigDeps): CentreConfigService {
  const { db, centres, decisions, erasures, rules, clock, logger } = deps;
  const getStored = db.prepare<[string], { version: number; content: string; document: string }>('SELECT version, content, document FROM centre_configs WHERE centre_id = ?');
  const allStored = db.prepare<[], { centreId: string; document: string }>('SELECT centre_id AS centreId, document FROM centre_configs ORDER BY centre_id');
  const store = db.prepare<[string, number, string, string, string]>(
    `INSERT INTO centre_configs (centre_id, version, issued_at, content, document) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (centre_id) DO UPDATE SET version = excluded.version, issued_at = excluded.issued_at, content = excluded.content, document = excluded.document`,
  );
  const idKey = idNumberKeyOf(db);
  const centreStamp = db.prepare<[], string>(
    "SELECT (SELECT count(*) || ':' || coalesce(max(updated_at), '') FROM centres) || ':' || (SELECT count(*) FROM devices) || ':' || (SELECT count(*) FROM device_credentials)",
  ).pluck();
  // Centres with boxes (heard from or registered): they get the rules even if nothing else was set for them.
  const boxCentres = db.prepare<[], string>('SELECT centre_id FROM devices UNION SELECT centre_id FROM device_credentials').pluck();
  // The UTC day: a day change rebuilds every document, and each compares its own content.
  const stamp = () => `${centreStamp.get() ?? ''}|${decisions.stamp()}|${erasures.stamp()}|${rules?.stamp() ?? ''}|${clock.now().toISOString().slice(0, 10)}`;

  const build = (centreId: string): Content => {
    const c = centres.get(centreId);
    const content: Content = { v: CONTRACT_VERSION, centreId, elders: [], erasures: erasures.pending(centreId), rules: [], idNumberKey: idKey.public };
    // Only what the bureau set for this centre goes down: a centre never set keeps the box's own.
    if (c.updatedAt !== null) {
      content.mealWindows = c.mealWindows;
      content.timeZone = c.timeZone;
    }
    // The rules in force on the centre's today and those starting later: what its boxes apply next.
    if (rules) {
      const all = configRules(rules.effectiveRules(centreId, serviceDateOf(clock.now(), c.timeZone)));
      // Too many rules must not hold back a deceased status or an erasure: the first go, the rest are logged.
      if (all.length > CONFIG_MAX_RULES) logger.error({ centreId, rules: all.length, sent: CONFIG_MAX_RULES }, `config document: ${all.length} subsidy rules in force, only the first ${CONFIG_MAX_RULES} go down (end or remove old rules)`);
      content.rules = all.slice(0, CONFIG_MAX_RULES);
    }
    content.elders = decisions.current(centreId).map((d) => (d.category !== null ? { elderId: d.elderId, status: d.status, since: d.effectiveOn, category: d.category } : { elderId: d.elderId, status: d.status, since: d.effectiveOn }));
    return content;
  };

  const publish = (centreId: string, json: string, version: number): void => {
    if (!deps.publish) return;
    deps.publish(topics.config(centreId), json).then(
      () => logger.info({ centreId, version, bytes: json.length }, 'config published'),
      // Retained on the broker once it gets it; the next start or change publishes again.
      (err: unknown) => logger.warn({ centreId, version, err: err instanceof Error ? err.message : String(err) }, 'config not published yet'),
    );
  };

  const issueTx = db.transaction((centreId: string): IssuedConfig => {
    const content = build(centreId);
    const contentJson = JSON.stringify(content);
    const held = getStored.get(centreId);
    // Every centre with a box gets a document, if only for the ID-number key its boxes seal numbers to.
    if (held && held.content === contentJson) return { document: JSON.parse(held.document) as CentreConfig, issued: false };
    const document: CentreConfig = { ...content, version: (held?.version ?? 0) + 1, issuedAt: clock.now().toISOString() };
    const json = JSON.stringify(document);
    if (json.length > CONFIG_MAX_BYTES || !check.Check(document)) {
      const first = [...check.Errors(document)].slice(0, 2).map((e) => `${e.path} ${e.message}`);
      throw new ConfigTooLargeError(`the config document of centre ${centreId} cannot be issued: ${json.length > CONFIG_MAX_BYTES ? `${json.length} bytes, at most ${CONFIG_MAX_BYTES}` : first.join('; ')}`);
    }
    store.run(centreId, document.version, document.issuedAt, contentJson, json);
    return { document, issued: true };
  });

  const refresh = (centreId: string): IssuedConfig => {
    const r = issueTx.immediate(centreId);
    if (r.issued) {
      logger.info({ centreId, version: r.document.version, elders: r.document.elders.length, erasures: r.document.erasures.length, rules: r.document.rules.length }, 'config issued');
      publish(centreId, JSON.stringify(r.document), r.document.version);
    }
    return r;
  };

  // Every centre with a box (registered or heard from) gets a document: the rules, and the ID-number key its boxes seal numbers to.
  const candidates = (): string[] => [...new Set([...centres.list().map((c) => c.centreId), ...decisions.centres(), ...erasures.centres(), ...boxCentres.all()])].sort();

  const refreshAll = (): void => {
    // A change scheduled just before the database closed (the server stopping) has nothing to do.
    if (!db.open) return;
    for (const id of candidates()) {
      try {
        refresh(id);
      } catch (err) {
        logger.error({ err, centreId: id }, 'config not issued');
      }
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let lastStamp = '';
  const scheduled = new Set<string>();
  let allScheduled = false;

  return {
    current(centreId) {
      const held = getStored.get(centreId);
      return held ? (JSON.parse(held.document) as CentreConfig) : null;
    },
    refresh,
    changed(centreId) {
      if (scheduled.has(centreId)) return;
      scheduled.add(centreId);
      setImmediate(() => {
        scheduled.delete(centreId);
        if (!db.open) return;
        try {
          refresh(centreId);
        } catch (err) {
          logger.error({ err, centreId }, 'config not issued');
        }
      });
    },
    changedAll() {
      if (allScheduled) return;
      allScheduled = true;
      setImmediate(() => {
        allScheduled = false;
        refreshAll();
      });
    },
    start() {
      for (const s of allStored.all()) {
        const doc = JSON.parse(s.document) as CentreConfig;
        publish(s.centreId, s.document, doc.version);
      }
      lastStamp = stamp();
      refreshAll();
      timer = setInterval(() => {
        try {
          const now = stamp();
          if (now === lastStamp) return;
          lastStamp = now;
          refreshAll();
        } catch (err) {
          logger.error({ err }, 'config poll failed');
        }
      }, deps.pollMs ?? 2_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
