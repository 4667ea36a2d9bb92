/**
 * SQL for `review_items` (edge migrations 009, 013): decisions at the door that need a person, each
 * with a small face crop kept on this box until it is decided or expires.
 */
import type { Db } from '../../../common/sqlite.ts';
import { templateVaultOf, TemplateKeyError } from '../elders/template-vault.ts';

export const REVIEW_KINDS = ['unknown', 'margin', 'antispoof', 'clock'] as const;
/**
 * `unknown`: a face that stayed at the door and matched no elder. `margin`: close to an elder
 * but not surely them (inside the margin, the cohort test, the frames disagreed). `antispoof`: a
 * check-in held as a possible photo or screen (its hold is `confirmationId`). `clock`: a check-in
 * the clock rules held for staff (edge migration 013): a suspect face while the box's clock was
 * untrusted, which gets no hold (its date and meal would be guesses), so nothing was recorded.
 */
export type ReviewKind = (typeof REVIEW_KINDS)[number];
export const REVIEW_STATUSES = ['pending', 'assigned', 'dismissed', 'expired'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

/** An elder the face was close to, and how close (descriptor distance, lower is closer). */
export interface NearElder {
  elderId: string;
  distance: number;
}

export interface ReviewRecord {
  id: string;
  kind: ReviewKind;
  /** When the face was at the door, ISO 8601. */
  at: string;
  cameraId: string;
  /** Closest first. */
  nearest: NearElder[];
  status: ReviewStatus;
  /** False once decided or expired: the crop is gone. */
  hasCrop: boolean;
  confirmationId?: string;
  decidedAt?: string;
  decidedBy?: string;
  elderId?: string;
  eventId?: string;
}

/** The undecided items at a glance, for the status (GET /api/v1/status `reviews`) and the health page. */
export interface ReviewSummary {
  pending: number;
  /** When the oldest undecided face was at the door, ISO 8601; null when none is. */
  oldestAt: string | null;
  /** Undecided items per kind, every kind present (0 when none). */
  byKind: Record<ReviewKind, number>;
}

export interface ReviewRepository {
  insert(r: Omit<ReviewRecord, 'status' | 'hasCrop'>, crop: Buffer | null): void;
  get(id: string): ReviewRecord | undefined;
  /** The crop of a pending item (JPEG), if it still has one. */
  crop(id: string): Buffer | undefined;
  /** Pending items, newest first. */
  listPending(limit: number): ReviewRecord[];
  countPending(): number;
  /** Pending items per kind and the oldest one's time, in one statement. */
  summary(): ReviewSummary;
  /** Pending items that name an anti-spoof hold, oldest first (few: one per held check-in). */
  listPendingHolds(): ReviewRecord[];
  /** Decides a pending item and drops its crop; false when it was not pending. */
  decide(id: string, d: { status: 'assigned' | 'dismissed'; at: string; by: string; elderId?: string; eventId?: string }): boolean;
  /** Pending items from before `before` expire: their crops are dropped. Returns how many. */
  expire(before: string, at: string): number;
  /** Crops still stored (pending items with a crop), for tests and the status page. */
  countCrops(): number;
  /**
   * Drops every crop that may show this elder: items assigned to them and items that list them
   * among the nearest elders (the face may be theirs). The items stay, without a picture. For an
   * erasure or a removal; returns how many crops went.
   */
  dropCropsOf(elderId: string): number;
  /** Crops that may show this elder (as dropCropsOf would drop). */
  countCropsOf(elderId: string): number;
}

interface Row {
  id: string;
  kind: string;
  at: string;
  camera_id: string;
  nearest: string;
  has_crop: number;
  confirmation_id: string | null;
  status: string;
  decided_at: string | null;
  decided_by: string | null;
  elder_id: string | null;
  event_id: string | null;
}

function toRecord(r: Row): ReviewRecord {
  // The table's CHECK constraints keep kind and status within their unions.
  const rec: ReviewRecord = { id: r.id, kind: r.kind as ReviewKind, at: r.at, cameraId: r.camera_id, nearest: JSON.parse(r.nearest) as NearElder[], status: r.status as ReviewStatus, hasCrop: r.has_crop === 1 };
  if (r.confirmation_id !== null) rec.confirmationId = r.confirmation_id;
  if (r.decided_at !== null) rec.decidedAt = r.decided_at;
  if (r.decided_by !== null) rec.decidedBy = r.decided_by;
  if (r.elder_id !== null) rec.elderId = r.elder_id;
  if (r.event_id !== null) rec.eventId = r.event_id;
  return rec;
}

/**
 * Crops rest sealed with the box's template key (elders/template-vault.ts, AES-256-GCM, the item
 * id as associated data), like the templates: a copy of the database (a backup, a stolen card)
 * holds no face image. A box whose key is missing keeps its review items without crops.
 */
export function createReviewRepository(db: Db): ReviewRepository {
  const vault = templateVaultOf(db);
  const sealCrop = (id: string, jpeg: Buffer | null): Buffer | null => (jpeg === null || vault.problem !== undefined ? null : vault.seal(`review:${id}`, 'crop', jpeg));
  const openCrop = (id: string, sealed: Buffer): Buffer | undefined => {
    try {
      return vault.open(`review:${id}`, 'crop', sealed);
    } catch (err) {
      if (err instanceof TemplateKeyError) return undefined;
      throw err;
    }
  };
  const cols = 'id, kind, at, camera_id, nearest, crop IS NOT NULL AS has_crop, confirmation_id, status, decided_at, decided_by, elder_id, event_id';
  const insert = db.prepare<[string, string, string, string, string, Buffer | null, string | null]>(
    'INSERT INTO review_items (id, kind, at, camera_id, nearest, crop, confirmation_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const get = db.prepare<[string], Row>(`SELECT ${cols} FROM review_items WHERE id = ?`);
  const crop = db.prepare<[string], { crop: Buffer }>("SELECT crop FROM review_items WHERE id = ? AND status = 'pending' AND crop IS NOT NULL");
  const listPending = db.prepare<[number], Row>(`SELECT ${cols} FROM review_items WHERE status = 'pending' ORDER BY at DESC, id DESC LIMIT ?`);
  const countPending = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM review_items WHERE status = 'pending'");
  const byKind = db.prepare<[], { kind: string; n: number; oldest: string }>("SELECT kind, count(*) AS n, min(at) AS oldest FROM review_items WHERE status = 'pending' GROUP BY kind");
  const pendingHolds = db.prepare<[], Row>(`SELECT ${cols} FROM review_items WHERE status = 'pending' AND confirmation_id IS NOT NULL ORDER BY at, id`);
  const countCrops = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM review_items WHERE crop IS NOT NULL');
  // `status = 'pending'` in the WHERE: an item is decided once, whoever asks twice.
  const decide = db.prepare<[string, string, string, string | null, string | null, string]>(
    "UPDATE review_items SET status = ?, decided_at = ?, decided_by = ?, elder_id = ?, event_id = ?, crop = NULL WHERE id = ? AND status = 'pending'",
  );
  const expire = db.prepare<[string, string]>("UPDATE review_items SET status = 'expired', decided_at = ?, crop = NULL WHERE status = 'pending' AND at < ?");

  // Crops kept in clear by a box from before they were sealed (a JPEG starts FF D8): sealed now.
  const clearCrops = db.prepare<[], { id: string; crop: Buffer }>("SELECT id, crop FROM review_items WHERE crop IS NOT NULL AND substr(crop, 1, 2) = x'FFD8'").all();
  if (clearCrops.length && vault.problem === undefined) {
    const reseal = db.prepare<[Buffer, string]>('UPDATE review_items SET crop = ? WHERE id = ?');
    db.transaction(() => clearCrops.forEach((c) => reseal.run(vault.seal(`review:${c.id}`, 'crop', c.crop), c.id)))();
  }

  const ofElder = "crop IS NOT NULL AND (elder_id = @elderId OR EXISTS (SELECT 1 FROM json_each(review_items.nearest) n WHERE json_extract(n.value, '$.elderId') = @elderId))";
  const dropOf = db.prepare<{ elderId: string }>(`UPDATE review_items SET crop = NULL WHERE ${ofElder}`);
  const countOf = db.prepare<{ elderId: string }, number>(`SELECT count(*) FROM review_items WHERE ${ofElder}`).pluck();

  return {
    dropCropsOf: (elderId) => dropOf.run({ elderId }).changes,
    countCropsOf: (elderId) => countOf.get({ elderId }) ?? 0,
    insert(r, c) {
      insert.run(r.id, r.kind, r.at, r.cameraId, JSON.stringify(r.nearest), sealCrop(r.id, c), r.confirmationId ?? null);
    },
    get(id) {
      const r = get.get(id);
      return r && toRecord(r);
    },
    crop(id) {
      const stored = crop.get(id)?.crop;
      return stored && openCrop(id, stored);
    },
    listPending: (limit) => listPending.all(limit).map(toRecord),
    countPending: () => countPending.get()?.n ?? 0,
    summary() {
      const out: ReviewSummary = { pending: 0, oldestAt: null, byKind: Object.fromEntries(REVIEW_KINDS.map((k) => [k, 0])) as Record<ReviewKind, number> };
      for (const r of byKind.all()) {
        // The CHECK constraint keeps kind within REVIEW_KINDS.
        out.byKind[r.kind as ReviewKind] = r.n;
        out.pending += r.n;
        // ISO 8601 UTC strings of one format compare in time order.
        if (out.oldestAt === null || r.oldest < out.oldestAt) out.oldestAt = r.oldest;
      }
      return out;
    },
    listPendingHolds: () => pendingHolds.all().map(toRecord),
    countCrops: () => countCrops.get()?.n ?? 0,
    decide(id, d) {
      return decide.run(d.status, d.at, d.by, d.elderId ?? null, d.eventId ?? null, id).changes === 1;
    },
    expire: (before, at) => expire.run(at, before).changes,
  };
}
