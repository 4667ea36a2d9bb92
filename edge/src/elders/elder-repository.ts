/**
 * Elders enrolled at this centre and their face templates. Descriptors are stored here and
 * nowhere else: they never travel in MQTT payloads, server tables or logs.
 */
import { isValidId } from '../../../common/contract.ts';
import type { Db } from '../../../common/sqlite.ts';
import { DESCRIPTOR_LENGTH, FACE_API_MODEL, type TemplateModel, type TemplateSet } from '../recognition/matcher.ts';

export { DESCRIPTOR_LENGTH, FACE_API_MODEL, type TemplateModel, type TemplateSet };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface Elder {
  elderId: string;
  name: string;
  /** ISO 8601. */
  createdAt: string;
  /** Registry status (edge migration 007): `active`, or why no meal is served (`suspended`...). Absent before the registry. */
  status?: string;
}

export interface ElderSummary extends Elder {
  templateCount: number;
  /** Templates per recognizer id (`face-api`, `fr-feature`, ...), for the elder's templates only. */
  templateModels: Record<string, number>;
}

/** An elder found by searchElders: enough to pick the right one, no more personal data. */
export interface ElderMatch {
  elderId: string;
  name: string;
  /** The last 4 characters of the ID-card number, when the registry has one (shown masked). */
  idTail?: string;
  /** The registry status (`active`, `suspended`...), when the registry has one. */
  status?: string;
}

/** At most this many matches per search. */
export const ELDER_SEARCH_LIMIT = 20;

export interface ElderRepository {
  /**
   * Inserts the elder, or renames an existing one (keeps its templates and created_at).
   * Throws RangeError when the id is not topic-safe (see `isValidId`) or the name is blank.
   */
  upsertElder(elderId: string, name: string): void;
  /**
   * Adds one template of `model` (the engine's `info().model`); the elder must exist and the
   * descriptor be `model.dimension` long. Returns the template id.
   */
  addTemplate(elderId: string, descriptor: Float32Array, source: string, model: TemplateModel): number;
  listElders(): ElderSummary[];
  getElder(elderId: string): Elder | undefined;
  /**
   * Elders whose id or name contains `query`, or whose ID-card number ends with it (4 or more
   * characters), best first: the id itself, then names and ids that start with it, then the rest.
   * At most `limit` (ELDER_SEARCH_LIMIT). An empty query finds nobody.
   */
  searchElders(query: string, limit?: number): ElderMatch[];
  /**
   * One model's templates, oldest first, with `dim` and `model` set; `dim` is absent when the
   * model has none (the caller knows its engine's). Throws when the model's rows disagree on
   * their dimension (a manifest entry's output changed under the same id): re-enrol them.
   */
  loadTemplates(modelId: string): TemplateSet;
  /**
   * Elders with no template of `modelId`, by id: after a model change the door cannot
   * recognise them until they are enrolled again (their other models' templates are kept).
   */
  eldersWithoutModel(modelId: string): string[];
  /** All templates, or one elder's. */
  countTemplates(elderId?: string): number;
  /**
   * Deletes the elder and their templates (the door no longer knows them). Their meals,
   * check-ins and held confirmations stay: they are the subsidy history. Returns what was
   * removed, or undefined when no elder has this id.
   */
  removeElder(elderId: string): { name: string; templates: number } | undefined;
  /**
   * Changes whenever a template is added or removed, by this process or another (the
   * `mealcheck enrol` CLI on the same file): the running edge polls it to reload its matcher.
   * Cheap: one count over the elder index and one max over the primary key. Templates are
   * never updated in place and AUTOINCREMENT never reuses an id, so a later set with the same
   * (count, max id) holds no id newer than the earlier max and no id deleted before: it is the
   * same set. Any insert, delete or mix of the two in between shows.
   */
  templatesVersion(): string;
}

interface ElderRow {
  elder_id: string;
  name: string;
  created_at: string;
}

/** Encodes a descriptor as `dimension` little-endian float32 values (the on-disk layout). */
export function encodeDescriptor(descriptor: Float32Array, dimension: number = DESCRIPTOR_LENGTH): Buffer {
  if (!(Number.isInteger(dimension) && dimension > 0)) throw new RangeError(`a model's dimension must be a whole number > 0, got ${dimension}`);
  if (descriptor.length !== dimension) throw new RangeError(`a descriptor of this model has ${dimension} values, got ${descriptor.length}`);
  for (const v of descriptor) if (!Number.isFinite(v)) throw new RangeError('a descriptor must not contain NaN or infinity');
  const buf = Buffer.alloc(dimension * 4);
  for (let i = 0; i < dimension; i++) buf.writeFloatLE(descriptor[i]!, i * 4);
  return buf;
}

export function createElderRepository(db: Db, now: () => Date = () => new Date()): ElderRepository {
  const upsert = db.prepare<[string, string, string]>(
    `INSERT INTO elders (elder_id, name, created_at) VALUES (?, ?, ?)
     ON CONFLICT (elder_id) DO UPDATE SET name = excluded.name`,
  );
  const insertTemplate = db.prepare<[string, Buffer, string, string, string, number]>(
    'INSERT INTO templates (elder_id, descriptor, source, created_at, model, dim) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const list = db.prepare<[], ElderRow & { template_count: number }>(
    `SELECT e.elder_id, e.name, e.created_at, (SELECT count(*) FROM templates t WHERE t.elder_id = e.elder_id) AS template_count
     FROM elders e ORDER BY e.elder_id`,
  );
  // The status column comes with the elder registry (edge migration 007).
  const elderColumns = new Set(db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)').all('elders').map((c) => c.name));
  const get = db.prepare<[string], ElderRow & { status?: string }>(`SELECT elder_id, name, created_at${elderColumns.has('status') ? ', status' : ''} FROM elders WHERE elder_id = ?`);
  const byModel = db.prepare<[string], { elder_id: string; descriptor: Buffer; dim: number }>('SELECT elder_id, descriptor, dim FROM templates WHERE model = ? ORDER BY id');
  const modelCounts = db.prepare<[], { elder_id: string; model: string; n: number }>('SELECT elder_id, model, count(*) AS n FROM templates GROUP BY elder_id, model ORDER BY elder_id, model');
  const without = db.prepare<[string], { elder_id: string }>(
    'SELECT e.elder_id FROM elders e WHERE NOT EXISTS (SELECT 1 FROM templates t WHERE t.elder_id = e.elder_id AND t.model = ?) ORDER BY e.elder_id',
  );
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM templates');
  const countOne = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM templates WHERE elder_id = ?');
  // Templates go with their elder (ON DELETE CASCADE); check_ins and confirmations have no key to elders.
  const remove = db.prepare<[string]>('DELETE FROM elders WHERE elder_id = ?');
  const version = db.prepare<[], { n: number; maxId: number }>('SELECT count(*) AS n, coalesce(max(id), 0) AS maxId FROM templates');
  // The search, in one place for staff pages and API. The ID-card number and status columns come
  // with the elder registry (edge migration 007); on a database without them the search covers
  // ids and names only.
  const hasIdNumber = elderColumns.has('id_number');
  const hasStatus = elderColumns.has('status');
  const search = db.prepare<{ q: string; prefix: string; tail: string; limit: number }, ElderRow & { id_tail?: string | null; status?: string }>(
    `SELECT elder_id, name, created_at${hasIdNumber ? ', substr(id_number, -4) AS id_tail' : ''}${hasStatus ? ', status' : ''} FROM elders
     WHERE instr(lower(elder_id), lower(@q)) > 0 OR instr(name, @q) > 0${hasIdNumber ? " OR (length(@tail) >= 4 AND id_number LIKE '%' || @tail)" : ''}
     ORDER BY CASE WHEN lower(elder_id) = lower(@q) THEN 0 WHEN lower(elder_id) LIKE @prefix OR name LIKE @prefix THEN 1 ELSE 2 END, name, elder_id
     LIMIT @limit`,
  );
  const removeTx = db.transaction((elderId: string): { name: string; templates: number } | undefined => {
    const elder = get.get(elderId);
    if (!elder) return undefined;
    const templates = countOne.get(elderId)?.n ?? 0;
    remove.run(elderId);
    return { name: elder.name, templates };
  });

  return {
    upsertElder(elderId, name) {
      if (!isValidId(elderId)) throw new RangeError(`invalid elder id "${elderId}": letters, digits, "_", "." and "-", at most 64`);
      if (name.trim() === '') throw new RangeError(`elder ${elderId} needs a name`);
      upsert.run(elderId, name, now().toISOString());
    },
    addTemplate(elderId, descriptor, source, model) {
      if (!(model.id.length >= 1 && model.id.length <= 64)) throw new RangeError(`a template's model id must be 1-64 characters, got "${model.id}"`);
      const r = insertTemplate.run(elderId, encodeDescriptor(descriptor, model.dimension), source, now().toISOString(), model.id, model.dimension);
      return Number(r.lastInsertRowid);
    },
    listElders() {
      const models = new Map<string, Record<string, number>>();
      for (const r of modelCounts.all()) {
        const m = models.get(r.elder_id) ?? {};
        m[r.model] = r.n;
        models.set(r.elder_id, m);
      }
      return list.all().map((r) => ({ elderId: r.elder_id, name: r.name, createdAt: r.created_at, templateCount: r.template_count, templateModels: models.get(r.elder_id) ?? {} }));
    },
    searchElders(query, limit = ELDER_SEARCH_LIMIT) {
      const q = query.trim();
      if (q === '') return [];
      // LIKE wildcards in what staff typed are literal text here, never patterns.
      const literal = q.replace(/[%_\\]/g, '');
      const rows = search.all({ q, prefix: `${literal}%`, tail: /^[0-9Xx]+$/.test(q) ? q.toUpperCase() : '', limit: Math.max(1, Math.min(limit, 100)) });
      return rows.map((r) => {
        const m: ElderMatch = { elderId: r.elder_id, name: r.name };
        if (r.id_tail) m.idTail = r.id_tail;
        if (r.status) m.status = r.status;
        return m;
      });
    },
    getElder(elderId) {
      const r = get.get(elderId);
      if (!r) return undefined;
      const e: Elder = { elderId: r.elder_id, name: r.name, createdAt: r.created_at };
      if (r.status !== undefined) e.status = r.status;
      return e;
    },
    loadTemplates(modelId) {
      const rows = byModel.all(modelId);
      if (rows.length === 0) return { elderIds: [], descriptors: new Float32Array(0), model: modelId };
      const dim = rows[0]!.dim;
      const other = rows.find((r) => r.dim !== dim);
      if (other) throw new RangeError(`templates of model ${modelId} are both ${dim}-d and ${other.dim}-d (elder ${other.elder_id}): one id names two models; remove and re-enrol that model's elders`);
      const bytesPer = dim * 4;
      const descriptors = new Float32Array(rows.length * dim);
      const elderIds: string[] = [];
      const bytes = new Uint8Array(descriptors.buffer);
      rows.forEach((r, i) => {
        elderIds.push(r.elder_id);
        // On a little-endian CPU (x86, ARM as run) the stored bytes are the floats: one copy,
        // which keeps a reload of thousands of templates to a few ms. Elsewhere, read each
        // value as little-endian (the BLOB's byte offset need not be float-aligned either way).
        if (LITTLE_ENDIAN) bytes.set(r.descriptor, i * bytesPer);
        else for (let j = 0; j < dim; j++) descriptors[i * dim + j] = r.descriptor.readFloatLE(j * 4);
      });
      return { elderIds, descriptors, dim, model: modelId };
    },
    eldersWithoutModel(modelId) {
      return without.all(modelId).map((r) => r.elder_id);
    },
    countTemplates(elderId) {
      return (elderId === undefined ? countAll.get() : countOne.get(elderId))?.n ?? 0;
    },
    removeElder(elderId) {
      return removeTx(elderId);
    },
    templatesVersion() {
      const v = version.get();
      return `${v?.n ?? 0}:${v?.maxId ?? 0}`;
    },
  };
}
