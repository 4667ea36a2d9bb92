/**
 * Districts (table districts): the bureau's grouping of centres. A district analyst sees the
 * centres of their districts; a centre joins a district with CentreRepository.set.
 */
import type { Db } from '../../../../common/sqlite.ts';
import { isValidId } from '../../../../common/contract.ts';
import { CentreSettingsError } from './centre-repository.ts';

export interface District {
  districtId: string;
  name: string;
  /** Its centres (those with a centre row naming it), by id. */
  centreIds: string[];
  createdAt: string;
  updatedAt: string;
}

export interface DistrictRepository {
  /** `created` false: it existed and was renamed. Throws CentreSettingsError on a bad id or name. */
  put(districtId: string, name: string, at: Date): { district: District; created: boolean };
  get(districtId: string): District | undefined;
  list(): District[];
}

export function createDistrictRepository(db: Db): DistrictRepository {
  const cols = 'district_id AS districtId, name, created_at AS createdAt, updated_at AS updatedAt';
  const one = db.prepare<[string], Omit<District, 'centreIds'>>(`SELECT ${cols} FROM districts WHERE district_id = ?`);
  const all = db.prepare<[], Omit<District, 'centreIds'>>(`SELECT ${cols} FROM districts ORDER BY district_id`);
  const centres = db.prepare<[string], string>('SELECT centre_id FROM centres WHERE district_id = ? ORDER BY centre_id').pluck();
  const upsert = db.prepare<{ districtId: string; name: string; at: string }>(
    'INSERT INTO districts (district_id, name, created_at, updated_at) VALUES (@districtId, @name, @at, @at) ON CONFLICT (district_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at',
  );
  const withCentres = (d: Omit<District, 'centreIds'>): District => ({ ...d, centreIds: centres.all(d.districtId) });

  return {
    put(districtId, name, at) {
      const problems: string[] = [];
      if (!isValidId(districtId)) problems.push(`districtId: "${districtId.slice(0, 64)}" is not an id (letters, digits, _ . -)`);
      const n = name.trim();
      if (n === '' || n.length > 100) problems.push('name: 1 to 100 characters');
      if (problems.length) throw new CentreSettingsError(problems);
      const created = !one.get(districtId);
      upsert.run({ districtId, name: n, at: at.toISOString() });
      return { district: withCentres(one.get(districtId)!), created };
    },
    get(districtId) {
      const d = one.get(districtId);
      return d && withCentres(d);
    },
    list: () => all.all().map(withCentres),
  };
}
