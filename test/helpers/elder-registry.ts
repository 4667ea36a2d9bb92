/** The elder registry for tests: a real one on a real database, with the shipped consent text. */
import type { Clock, Ids } from '../../common/clock.ts';
import type { IdNumberPublicKey } from '../../common/id-number-seal.ts';
import type { Db } from '../../common/sqlite.ts';
import { loadConsentTexts } from '../../edge/src/elders/consent-texts.ts';
import { createElderRepository, type ElderRepository } from '../../edge/src/elders/elder-repository.ts';
import type { EnrolmentStore } from '../../edge/src/elders/enrolment.ts';
import { createElderRegistry, DEFAULT_ELDER_CATEGORIES, type AuditAppender, type ElderRegistry } from '../../edge/src/elders/registry-service.ts';
import { createOutboxRepository } from '../../edge/src/sync/outbox-repository.ts';
import { counterIds, TestClock } from './edge-fixtures.ts';

export interface TestRegistry {
  registry: ElderRegistry;
  elders: ElderRepository;
  /** What enrolment writes to: the repository, the registry's consent check, the database's transaction. */
  store: EnrolmentStore;
  /** Registers an active elder with the elder's own consent (what every enrolment needs first). */
  register(elderId: string, name: string): void;
}

export function testRegistry(db: Db, o: { clock?: Clock; ids?: Ids; centreId?: string; deviceId?: string; audit?: AuditAppender; idNumberKey?: () => IdNumberPublicKey | undefined } = {}): TestRegistry {
  const elders = createElderRepository(db);
  const registry = createElderRegistry({
    db,
    elders,
    outbox: createOutboxRepository(db),
    ids: o.ids ?? counterIds(),
    clock: o.clock ?? new TestClock('2025-03-10T02:00:00Z'),
    centreId: o.centreId ?? 'c1',
    deviceId: o.deviceId ?? 'd1',
    timeZone: 'Asia/Shanghai',
    categories: DEFAULT_ELDER_CATEGORIES,
    consentTexts: loadConsentTexts(),
    ...(o.audit ? { audit: o.audit } : {}),
    ...(o.idNumberKey ? { idNumberKey: o.idNumberKey } : {}),
  });
  return {
    registry,
    elders,
    store: { ...elders, validConsent: (id) => registry.validConsent(id), transaction: (fn) => db.transaction(fn)() },
    register: (elderId, name) => void registry.create({ elderId, name }, 'S01', { signedBy: 'elder' }),
  };
}
