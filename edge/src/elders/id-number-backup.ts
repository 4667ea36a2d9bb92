/**
 * ID-card numbers in an edge backup (issue 16, item 2): the box keeps them in clear in its own
 * database (staff search and show them), but a backup is a file that travels, so `mealcheck
 * backup` moves them out of `elders` into `backup_sealed_id_numbers`, each sealed with the box's
 * template key (template-vault.ts, AES-256-GCM, the elder id as associated data), and VACUUMs
 * the copy so no free page keeps a clear one. Opening a restored database (openEdgeDatabase)
 * puts them back with the same key; without it they stay sealed in that table, counted as
 * `stillSealed`, until the key is found (staff can type them again meanwhile).
 */
import type { Db } from '../../../common/sqlite.ts';
import { TemplateKeyError, type TemplateVault } from './template-vault.ts';

const TABLE = 'backup_sealed_id_numbers';
const aadOf = (elderId: string): string => `id-number:${elderId}`;

/** In a backup copy (not the live database): seals the ID numbers away and vacuums. Returns how many. */
export function sealIdNumbersInCopy(copy: Db, vault: TemplateVault): number {
  const rows = copy.prepare<[], { elderId: string; idNumber: string }>('SELECT elder_id AS elderId, id_number AS idNumber FROM elders WHERE id_number IS NOT NULL').all();
  if (rows.length === 0) return 0;
  copy.transaction(() => {
    copy.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (elder_id TEXT PRIMARY KEY, sealed BLOB NOT NULL) STRICT`);
    const put = copy.prepare<[string, Buffer]>(`INSERT OR REPLACE INTO ${TABLE} (elder_id, sealed) VALUES (?, ?)`);
    for (const r of rows) put.run(r.elderId, vault.seal(aadOf(r.elderId), 'id-number', Buffer.from(r.idNumber, 'utf8')));
    copy.exec('UPDATE elders SET id_number = NULL WHERE id_number IS NOT NULL');
  })();
  copy.exec('VACUUM');
  return rows.length;
}

/** In an opened edge database: puts sealed-away ID numbers back. Safe to call on every open. */
export function restoreSealedIdNumbers(db: Db, vault: TemplateVault): { restored: number; stillSealed: number } {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(TABLE);
  if (!has || vault.problem !== undefined) return { restored: 0, stillSealed: has ? (db.prepare(`SELECT count(*) FROM ${TABLE}`).pluck().get() as number) : 0 };
  const rows = db.prepare<[], { elderId: string; sealed: Buffer }>(`SELECT elder_id AS elderId, sealed FROM ${TABLE}`).all();
  const set = db.prepare<[string, string]>('UPDATE elders SET id_number = ? WHERE elder_id = ? AND id_number IS NULL');
  const drop = db.prepare<[string]>(`DELETE FROM ${TABLE} WHERE elder_id = ?`);
  let restored = 0;
  let stillSealed = 0;
  db.transaction(() => {
    for (const r of rows) {
      try {
        set.run(vault.open(aadOf(r.elderId), 'id-number', r.sealed).toString('utf8'), r.elderId);
        drop.run(r.elderId);
        restored++;
      } catch (err) {
        // A key that does not open it, or the number registered again meanwhile (unique): kept sealed.
        const constraint = (err as { code?: unknown }).code?.toString().startsWith('SQLITE_CONSTRAINT') === true;
        if (!(err instanceof TemplateKeyError) && !constraint) throw err;
        stillSealed++;
      }
    }
    if (stillSealed === 0) db.exec(`DROP TABLE ${TABLE}`);
  })();
  return { restored, stillSealed };
}
