/**
 * The bureau's down-flow as one unit, built on a database: decisions, erasures and their acks,
 * the centres' config documents, and the audit they write. The server (server.ts) builds it once
 * and hands it to ingest (the `ack` handler), the app (routes) and the centre routes (a change of
 * windows or time zone re-issues the centre's document).
 */
import type { Clock } from '../../../../common/clock.ts';
import type { Logger } from '../../../../common/logger.ts';
import type { Db } from '../../../../common/sqlite.ts';
import { createCentreRepository } from '../centres/centre-repository.ts';
import { createElderRegistryRepository } from '../elders/elder-registry.ts';
import { createSettlementAudit } from '../settlement/settlement-audit.ts';
import { createSubsidyRuleRepository } from '../settlement/subsidy-rule-repository.ts';
import { createBureauAudit, type BureauAudit } from './bureau-audit.ts';
import { createBureauService, type BureauService } from './bureau-service.ts';
import { createCentreConfigService, type CentreConfigService, type RetainedPublish } from './centre-config.ts';
import { createDecisionRepository, type DecisionRepository } from './decision-repository.ts';
import { createErasureRepository, type ErasureRepository } from './erasure-repository.ts';

export interface Bureau {
  audit: BureauAudit;
  decisions: DecisionRepository;
  erasures: ErasureRepository;
  configs: CentreConfigService;
  service: BureauService;
}

export interface BureauOptions {
  clock: Clock;
  logger: Logger;
  /** How config documents reach the broker (late-bound: the ingest client is made after this). */
  publish?: RetainedPublish;
  pollMs?: number;
  /** A command on the database (the CLI): changes do not re-issue documents here, the running server's poll does. */
  passive?: boolean;
}

export function createBureau(db: Db, opts: BureauOptions): Bureau {
  const audit = createBureauAudit(db);
  const decisions = createDecisionRepository(db);
  // Late-bound: the config service needs the erasures, and an ack completing one re-issues it.
  const late: { configs?: CentreConfigService } = {};
  const erasures = createErasureRepository(db, { audit, logger: opts.logger, onCompleted: (centreId) => late.configs?.changed(centreId) });
  // The documents carry the subsidy rules (read only here: changes go through settlement/).
  const rules = createSubsidyRuleRepository(db, createSettlementAudit(db));
  const configs = createCentreConfigService({ db, centres: createCentreRepository(db), decisions, erasures, rules, clock: opts.clock, logger: opts.logger, ...(opts.publish ? { publish: opts.publish } : {}), ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}) });
  late.configs = configs;
  const service = createBureauService({ db, registry: createElderRegistryRepository(db), decisions, erasures, audit, ...(opts.passive ? {} : { changed: (centreId: string) => configs.changed(centreId) }) });
  return { audit, decisions, erasures, configs, service };
}
