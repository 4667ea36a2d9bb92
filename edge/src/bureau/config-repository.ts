/** SQL for what the bureau sent down (edge migration 011): the applied document, the bureau's elders, erasures done. */
import type { CentreConfig, ConfigElder } from '../../../common/contract.ts';
import type { Db } from '../../../common/sqlite.ts';

export interface ErasureDone {
  erasureId: string;
  elderId: string;
  requestedAt: string;
  templates: number;
  crops: number;
  doneAt: string;
}

export interface BureauElder extends ConfigElder {
  version: number;
  appliedAt: string;
}

export interface CentreConfigRepository {
  /** The document applied last, or undefined before the first. */
  applied(): { version: number; document: CentreConfig; appliedAt: string } | undefined;
  storeApplied(document: CentreConfig, at: string): void;
  bureauElder(elderId: string): BureauElder | undefined;
  bureauElders(): BureauElder[];
  /** Replaces the bureau's elders with the document's. */
  replaceBureauElders(elders: readonly ConfigElder[], version: number, at: string): void;
  erasureDone(erasureId: string): ErasureDone | undefined;
  recordErasure(e: ErasureDone): void;
}

export function createCentreConfigRepository(db: Db): CentreConfigRepository {
  const applied = db.prepare<[], { version: number; document: string; appliedAt: string }>('SELECT version, document, applied_at AS appliedAt FROM centre_config WHERE id = 1');
  const store = db.prepare<[number, string, string]>(
    'INSERT INTO centre_config (id, version, document, applied_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, document = excluded.document, applied_at = excluded.applied_at',
  );
  const cols = 'elder_id AS elderId, status, since, category, version, applied_at AS appliedAt';
  const one = db.prepare<[string], BureauElder & { category: string | null }>(`SELECT ${cols} FROM bureau_elders WHERE elder_id = ?`);
  const all = db.prepare<[], BureauElder & { category: string | null }>(`SELECT ${cols} FROM bureau_elders ORDER BY elder_id`);
  const clear = db.prepare('DELETE FROM bureau_elders');
  const insert = db.prepare<[string, string, string, string | null, number, string]>('INSERT INTO bureau_elders (elder_id, status, since, category, version, applied_at) VALUES (?, ?, ?, ?, ?, ?)');
  const done = db.prepare<[string], ErasureDone>('SELECT erasure_id AS erasureId, elder_id AS elderId, requested_at AS requestedAt, templates, crops, done_at AS doneAt FROM erasures_done WHERE erasure_id = ?');
  const record = db.prepare<ErasureDone>('INSERT INTO erasures_done (erasure_id, elder_id, requested_at, templates, crops, done_at) VALUES (@erasureId, @elderId, @requestedAt, @templates, @crops, @doneAt)');
  const clean = (r: BureauElder & { category: string | null }): BureauElder => {
    const { category, ...rest } = r;
    return category === null ? rest : { ...rest, category };
  };
  const replace = db.transaction((elders: readonly ConfigElder[], version: number, at: string) => {
    clear.run();
    for (const e of elders) insert.run(e.elderId, e.status, e.since, e.category ?? null, version, at);
  });

  return {
    applied() {
      const r = applied.get();
      return r && { version: r.version, document: JSON.parse(r.document) as CentreConfig, appliedAt: r.appliedAt };
    },
    storeApplied: (document, at) => void store.run(document.version, JSON.stringify(document), at),
    bureauElder(elderId) {
      const r = one.get(elderId);
      return r && clean(r);
    },
    bureauElders: () => all.all().map(clean),
    replaceBureauElders: (elders, version, at) => replace(elders, version, at),
    erasureDone: (id) => done.get(id),
    recordErasure: (e) => void record.run(e),
  };
}
