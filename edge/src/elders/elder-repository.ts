/**
 * Elders enrolled at this centre and their face templates. Descriptors are stored here and
 * nowhere else: they never travel in MQTT payloads, server tables or logs, and on disk they are
 * sealed (AES-256-GCM, template-vault.ts) under a key kept outside the data folder.
 */
import { isValidId } from '../../../common/contract.ts';
import type { ConsentSigner, ElderStatus } from '../../../common/records.ts';
import type { Db } from '../../../common/sqlite.ts';
import { DESCRIPTOR_LENGTH, FACE_API_MODEL, type TemplateModel, type TemplateSet } from '../recognition/matcher.ts';
import { templateVaultOf } from './template-vault.ts';

export { DESCRIPTOR_LENGTH, FACE_API_MODEL, type TemplateModel, type TemplateSet };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface Elder {
  elderId: string;
  name: string;
  /** ISO 8601. */
  createdAt: string;
  /** Only `active` elders are in the door's gallery (`loadTemplates(model, { activeOnly })`). */
  status: ElderStatus;
}

/** The registry fields staff keep on an elder (edge migration 007); none is face data. */
export interface ElderFields {
  name: string;
  /** 18-character resident ID-card number, checked (common/id-card.ts); shown masked. */
  idNumber?: string;
  /** A contact's phone number. */
  phone?: string;
  /** One of the bureau's categories (--elder-categories). */
  category?: string;
}

/** A consent to face recognition as recorded (edge migration 007 `consents`). */
export interface Consent {
  /** The consent text signed: a file of --consent-dir. */
  textVersion: string;
  /** The day it was signed, YYYY-MM-DD (the centre's local date). */
  signedOn: string;
  signedBy: ConsentSigner;
  /** Set when a guardian signed (and only then). */
  guardianName?: string;
  /** The staff member who took it. */
  staffId: string;
  /** ISO 8601, when it was recorded on the box. */
  recordedAt: string;
}

/** Everything the registry knows of one elder. */
export interface ElderDetails extends Elder, ElderFields {
  /** ISO 8601 of the last registry change; absent for elders only ever enrolled. */
  updatedAt?: string;
  /** The revision of the last change forwarded (0: never forwarded, e.g. enrolled before the registry). */
  revision: number;
  /** The consent in force (newest, not withdrawn), if any. */
  consent?: Consent;
  templateCount: number;
  /**
   * The bureau's word on this elder, from the centre's config document (edge migration 011): its
   * status wins over the box's (the registry refuses a staff change against it).
   */
  bureau?: { status: ElderStatus; since: string; category?: string; appliedAt: string };
}

export interface ElderSearch {
  /** Matches a part of the name, the start of the id, or the last characters of the ID number. */
  query?: string;
  status?: ElderStatus;
  limit: number;
  offset: number;
}

/** Refused by a UNIQUE rule: the id, or the ID-card number, is registered already. */
export class ElderExistsError extends Error {
  constructor(
    readonly field: 'elderId' | 'idNumber',
    readonly existingElderId: string,
  ) {
    super(field === 'elderId' ? `elder ${existingElderId} is registered already` : `this ID-card number is registered already, as elder ${existingElderId}`);
    this.name = 'ElderExistsError';
  }
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
   * `activeOnly`: only elders whose status is `active` (the door's gallery); the look-alike
   * check of enrolment compares against everyone.
   */
  loadTemplates(modelId: string, opts?: { activeOnly?: boolean }): TemplateSet;
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
   * Registers a new elder (status active). Throws ElderExistsError when the id or the ID-card
   * number is taken. Fields are stored as given: the registry service checks them.
   */
  insertElder(elderId: string, fields: ElderFields, at: string): void;
  /** Replaces the registry fields of an existing elder; false when there is none. Throws ElderExistsError for a taken ID number. */
  updateElder(elderId: string, fields: ElderFields, at: string): boolean;
  /** False when there is no such elder. */
  setStatus(elderId: string, status: ElderStatus, at: string): boolean;
  details(elderId: string): ElderDetails | undefined;
  /** Elders by id, filtered; `total` counts every match, not only the page. */
  search(q: ElderSearch): { elders: ElderDetails[]; total: number };
  /** The elder's next revision (1 for a new id, and after a removal the count goes on). */
  nextRevision(elderId: string): number;
  /** Notes the server key the elder's ID number was last forwarded sealed to (null: not sealed). */
  markIdNumberSealed(elderId: string, keyId: string | null): void;
  /** Elders with an ID number not yet forwarded sealed to `keyId`. */
  idNumbersToSeal(keyId: string): string[];
  /** Records a consent; the elder must exist. */
  addConsent(elderId: string, consent: Consent): void;
  /** Marks every consent of the elder withdrawn (they stay, for the record). */
  withdrawConsents(elderId: string, at: string, staffId: string): number;
  /** Deletes the elder's face templates (all models); returns how many went. */
  deleteTemplates(elderId: string): number;
  /**
   * Changes whenever a template is added or removed, by this process or another (the
   * `mealcheck enrol` CLI on the same file): the running edge polls it to reload its matcher.
   * Cheap: one count over the elder index and one max over the primary key. Templates are
   * never updated in place and AUTOINCREMENT never reuses an id, so a later set with the same
   * (count, max id) holds no id newer than the earlier max and no id deleted before: it is the
   * same set. Any insert, delete or mix of the two in between shows. It also changes with
   * every registry change (the sum of the elders' revisions only grows) and with the number of
   * active elders, so a suspension takes the elder out of the gallery as fast as a removal.
   */
  templatesVersion(): string;
}

interface ElderRow {
  elder_id: string;
  name: string;
  created_at: string;
  status: ElderStatus;
}

interface DetailsRow extends ElderRow {
  id_number: string | null;
  phone: string | null;
  category: string | null;
  updated_at: string | null;
  revision: number | null;
  template_count: number;
  c_version: string | null;
  c_signed_on: string | null;
  c_signed_by: ConsentSigner | null;
  c_guardian: string | null;
  c_staff: string | null;
  c_recorded_at: string | null;
  b_status: ElderStatus | null;
  b_since: string | null;
  b_category: string | null;
  b_applied_at: string | null;
}

function toDetails(r: DetailsRow): ElderDetails {
  const d: ElderDetails = { elderId: r.elder_id, name: r.name, createdAt: r.created_at, status: r.status, revision: r.revision ?? 0, templateCount: r.template_count };
  if (r.id_number !== null) d.idNumber = r.id_number;
  if (r.phone !== null) d.phone = r.phone;
  if (r.category !== null) d.category = r.category;
  if (r.updated_at !== null) d.updatedAt = r.updated_at;
  if (r.c_version !== null) {
    d.consent = { textVersion: r.c_version, signedOn: r.c_signed_on!, signedBy: r.c_signed_by!, staffId: r.c_staff!, recordedAt: r.c_recorded_at! };
    if (r.c_guardian !== null) d.consent.guardianName = r.c_guardian;
  }
  if (r.b_status !== null) {
    d.bureau = { status: r.b_status, since: r.b_since!, appliedAt: r.b_applied_at! };
    if (r.b_category !== null) d.bureau.category = r.b_category;
  }
  return d;
}

/** `LIKE` pattern of a literal: % and _ typed by staff match themselves. */
function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
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
  // Descriptors are sealed on the way in and opened on the way out (template-vault.ts).
  const vault = templateVaultOf(db);
  const upsert = db.prepare<[string, string, string]>(
    `INSERT INTO elders (elder_id, name, created_at) VALUES (?, ?, ?)
     ON CONFLICT (elder_id) DO UPDATE SET name = excluded.name`,
  );
  const insertTemplate = db.prepare<[string, Buffer, string, string, string, number]>(
    'INSERT INTO templates (elder_id, descriptor, source, created_at, model, dim, sealed) VALUES (?, ?, ?, ?, ?, ?, 1)',
  );
  const list = db.prepare<[], ElderRow & { template_count: number }>(
    `SELECT e.elder_id, e.name, e.created_at, e.status, (SELECT count(*) FROM templates t WHERE t.elder_id = e.elder_id) AS template_count
     FROM elders e ORDER BY e.elder_id`,
  );
  const get = db.prepare<[string], ElderRow>('SELECT elder_id, name, created_at, status FROM elders WHERE elder_id = ?');
  const byModel = db.prepare<[string], { elder_id: string; descriptor: Buffer; dim: number; sealed: number }>('SELECT elder_id, descriptor, dim, sealed FROM templates WHERE model = ? ORDER BY id');
  const byModelActive = db.prepare<[string], { elder_id: string; descriptor: Buffer; dim: number; sealed: number }>(
    "SELECT t.elder_id, t.descriptor, t.dim, t.sealed FROM templates t JOIN elders e ON e.elder_id = t.elder_id WHERE t.model = ? AND e.status = 'active' ORDER BY t.id",
  );
  const insertElder = db.prepare<{ elderId: string; name: string; idNumber: string | null; phone: string | null; category: string | null; at: string }>(
    "INSERT INTO elders (elder_id, name, id_number, phone, category, status, created_at, updated_at) VALUES (@elderId, @name, @idNumber, @phone, @category, 'active', @at, @at)",
  );
  const updateElder = db.prepare<{ elderId: string; name: string; idNumber: string | null; phone: string | null; category: string | null; at: string }>(
    'UPDATE elders SET name = @name, id_number = @idNumber, phone = @phone, category = @category, updated_at = @at WHERE elder_id = @elderId',
  );
  const byIdNumber = db.prepare<[string], { elder_id: string }>('SELECT elder_id FROM elders WHERE id_number = ?');
  const markSealed = db.prepare<[string | null, string]>('UPDATE elders SET id_number_key = ? WHERE elder_id = ?');
  const toSeal = db.prepare<[string], string>('SELECT elder_id FROM elders WHERE id_number IS NOT NULL AND (id_number_key IS NULL OR id_number_key <> ?) ORDER BY elder_id').pluck();
  const setStatus = db.prepare<[string, string, string]>('UPDATE elders SET status = ?, updated_at = ? WHERE elder_id = ?');
  // The consent in force: the newest not withdrawn.
  const detailsColumns = `e.elder_id, e.name, e.created_at, e.status, e.id_number, e.phone, e.category, e.updated_at, r.revision,
    (SELECT count(*) FROM templates t WHERE t.elder_id = e.elder_id) AS template_count,
    c.text_version AS c_version, c.signed_on AS c_signed_on, c.signed_by AS c_signed_by, c.guardian_name AS c_guardian, c.staff_id AS c_staff, c.recorded_at AS c_recorded_at,
    b.status AS b_status, b.since AS b_since, b.category AS b_category, b.applied_at AS b_applied_at
    FROM elders e LEFT JOIN elder_revisions r ON r.elder_id = e.elder_id
    LEFT JOIN bureau_elders b ON b.elder_id = e.elder_id
    LEFT JOIN consents c ON c.id = (SELECT max(id) FROM consents x WHERE x.elder_id = e.elder_id AND x.withdrawn_at IS NULL)`;
  const details = db.prepare<[string], DetailsRow>(`SELECT ${detailsColumns} WHERE e.elder_id = ?`);
  const searchWhere = `WHERE (@status IS NULL OR e.status = @status)
    AND (@q IS NULL OR e.name LIKE '%' || @q || '%' ESCAPE '\\' OR e.elder_id LIKE @q || '%' ESCAPE '\\' OR e.id_number LIKE '%' || @q ESCAPE '\\')`;
  const search = db.prepare<{ status: string | null; q: string | null; limit: number; offset: number }, DetailsRow>(
    `SELECT ${detailsColumns} ${searchWhere} ORDER BY e.elder_id LIMIT @limit OFFSET @offset`,
  );
  const searchCount = db.prepare<{ status: string | null; q: string | null }, number>(`SELECT count(*) FROM elders e ${searchWhere}`).pluck();
  const bumpRevision = db.prepare<[string], number>(
    'INSERT INTO elder_revisions (elder_id, revision) VALUES (?, 1) ON CONFLICT (elder_id) DO UPDATE SET revision = revision + 1 RETURNING revision',
  ).pluck();
  const insertConsent = db.prepare<{ elderId: string; textVersion: string; signedOn: string; signedBy: string; guardianName: string | null; staffId: string; recordedAt: string }>(
    `INSERT INTO consents (elder_id, text_version, signed_on, signed_by, guardian_name, staff_id, recorded_at)
     VALUES (@elderId, @textVersion, @signedOn, @signedBy, @guardianName, @staffId, @recordedAt)`,
  );
  const deleteTemplates = db.prepare<[string]>('DELETE FROM templates WHERE elder_id = ?');
  const withdraw = db.prepare<[string, string, string]>('UPDATE consents SET withdrawn_at = ?, withdrawn_by = ? WHERE elder_id = ? AND withdrawn_at IS NULL');
  const modelCounts = db.prepare<[], { elder_id: string; model: string; n: number }>('SELECT elder_id, model, count(*) AS n FROM templates GROUP BY elder_id, model ORDER BY elder_id, model');
  const without = db.prepare<[string], { elder_id: string }>(
    'SELECT e.elder_id FROM elders e WHERE NOT EXISTS (SELECT 1 FROM templates t WHERE t.elder_id = e.elder_id AND t.model = ?) ORDER BY e.elder_id',
  );
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM templates');
  const countOne = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM templates WHERE elder_id = ?');
  // Templates go with their elder (ON DELETE CASCADE); check_ins and confirmations have no key to elders.
  const remove = db.prepare<[string]>('DELETE FROM elders WHERE elder_id = ?');
  const version = db.prepare<[], { n: number; maxId: number; revisions: number; active: number }>(
    `SELECT count(*) AS n, coalesce(max(id), 0) AS maxId,
       (SELECT coalesce(sum(revision), 0) FROM elder_revisions) AS revisions,
       (SELECT count(*) FROM elders WHERE status = 'active') AS active
     FROM templates`,
  );
  /** Turns a UNIQUE failure on the id or the ID number into ElderExistsError. */
  const unique = (elderId: string, idNumber: string | undefined, write: () => void): void => {
    if (idNumber !== undefined) {
      const other = byIdNumber.get(idNumber);
      if (other && other.elder_id !== elderId) throw new ElderExistsError('idNumber', other.elder_id);
    }
    try {
      write();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new ElderExistsError('elderId', elderId);
      throw err;
    }
  };
  const fieldsOf = (elderId: string, f: ElderFields, at: string) => ({ elderId, name: f.name, idNumber: f.idNumber ?? null, phone: f.phone ?? null, category: f.category ?? null, at });
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
      const r = insertTemplate.run(elderId, vault.seal(elderId, model.id, encodeDescriptor(descriptor, model.dimension)), source, now().toISOString(), model.id, model.dimension);
      return Number(r.lastInsertRowid);
    },
    listElders() {
      const models = new Map<string, Record<string, number>>();
      for (const r of modelCounts.all()) {
        const m = models.get(r.elder_id) ?? {};
        m[r.model] = r.n;
        models.set(r.elder_id, m);
      }
      return list.all().map((r) => ({ elderId: r.elder_id, name: r.name, createdAt: r.created_at, status: r.status, templateCount: r.template_count, templateModels: models.get(r.elder_id) ?? {} }));
    },
    searchElders(query, limit = ELDER_SEARCH_LIMIT) {
      const q = query.trim();
      if (q === '') return [];
      // The registry's one search (name, start of the id, end of the ID number), trimmed to
      // what picking an elder needs: no ID number, only its last 4 characters.
      // Best match first: the id itself, then ids and names starting with it, then the rest (by
      // name, id); ranked over a wide page so the best is not cut off by the registry's id order.
      const lower = q.toLowerCase();
      const rank = (r: DetailsRow) => (r.elder_id.toLowerCase() === lower ? 0 : r.elder_id.toLowerCase().startsWith(lower) || r.name.startsWith(q) ? 1 : 2);
      const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      const rows = search
        .all({ status: null, q: likeEscape(q), limit: 500, offset: 0 })
        // An ID-card tail narrows only from 4 characters on (fewer would list half the centre).
        .filter((r) => q.length >= 4 || r.elder_id.toLowerCase().startsWith(lower) || r.name.includes(q))
        .sort((a, b) => rank(a) - rank(b) || cmp(a.name, b.name) || cmp(a.elder_id, b.elder_id))
        .slice(0, Math.max(1, Math.min(limit, 100)));
      return rows.map((r) => {
        const m: ElderMatch = { elderId: r.elder_id, name: r.name, status: r.status };
        if (r.id_number) m.idTail = r.id_number.slice(-4);
        return m;
      });
    },
    getElder(elderId) {
      const r = get.get(elderId);
      return r && { elderId: r.elder_id, name: r.name, createdAt: r.created_at, status: r.status };
    },
    insertElder(elderId, fields, at) {
      unique(elderId, fields.idNumber, () => insertElder.run(fieldsOf(elderId, fields, at)));
    },
    updateElder(elderId, fields, at) {
      let changed = false;
      unique(elderId, fields.idNumber, () => (changed = updateElder.run(fieldsOf(elderId, fields, at)).changes === 1));
      return changed;
    },
    setStatus(elderId, status, at) {
      return setStatus.run(status, at, elderId).changes === 1;
    },
    details(elderId) {
      const r = details.get(elderId);
      return r && toDetails(r);
    },
    search(q) {
      const query = q.query?.trim() ? likeEscape(q.query.trim()) : null;
      const args = { status: q.status ?? null, q: query };
      return { elders: search.all({ ...args, limit: q.limit, offset: q.offset }).map(toDetails), total: searchCount.get(args) ?? 0 };
    },
    nextRevision(elderId) {
      return bumpRevision.get(elderId)!;
    },
    markIdNumberSealed(elderId, keyId) {
      markSealed.run(keyId, elderId);
    },
    idNumbersToSeal: (keyId) => toSeal.all(keyId),
    addConsent(elderId, c) {
      insertConsent.run({ elderId, textVersion: c.textVersion, signedOn: c.signedOn, signedBy: c.signedBy, guardianName: c.guardianName ?? null, staffId: c.staffId, recordedAt: c.recordedAt });
    },
    withdrawConsents(elderId, at, staffId) {
      return withdraw.run(at, staffId, elderId).changes;
    },
    deleteTemplates(elderId) {
      return deleteTemplates.run(elderId).changes;
    },
    loadTemplates(modelId, opts) {
      // Locked (key missing or wrong): the door knows nobody; the box's status says why.
      const rows = vault.problem ? [] : (opts?.activeOnly ? byModelActive : byModel).all(modelId);
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
        // Opened once per load of the matcher (~1 µs a row), never per match.
        const plain = r.sealed === 1 ? vault.open(r.elder_id, modelId, r.descriptor) : r.descriptor;
        // On a little-endian CPU (x86, ARM as run) the stored bytes are the floats: one copy,
        // which keeps a reload of thousands of templates to a few ms. Elsewhere, read each
        // value as little-endian (the BLOB's byte offset need not be float-aligned either way).
        if (LITTLE_ENDIAN) bytes.set(plain, i * bytesPer);
        else for (let j = 0; j < dim; j++) descriptors[i * dim + j] = plain.readFloatLE(j * 4);
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
      return `${v?.n ?? 0}:${v?.maxId ?? 0}:${v?.revisions ?? 0}:${v?.active ?? 0}`;
    },
  };
}
