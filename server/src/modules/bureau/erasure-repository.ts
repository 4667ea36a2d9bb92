/**
 * Erasures of an elder's face data at every box of a centre (issue 14, item 2), and the boxes'
 * acknowledgements of their centre's config document (`ack` records, common/records.ts).
 *
 * An erasure is pending in the centre's config document until every device of that centre the
 * server knows (any that ever reported, in `devices`, and any with a broker credential) has
 * acknowledged it; it is then complete and drops out of the document. Meals already counted
 * stay: they hold no face data. Each ack and each completion is audited.
 *
 * The ack handler runs in the ingest transaction (records/record-ingest.ts). An ack naming an
 * erasure this server does not hold, or another centre's, is ignored (logged), never thrown: a
 * throw would roll the batch back and the box would re-send it forever.
 */
import type { ConfigErasure } from '../../../../common/contract.ts';
import type { AckRecord } from '../../../../common/records.ts';
import type { Logger } from '../../../../common/logger.ts';
import type { Db } from '../../../../common/sqlite.ts';
import type { RecordHandler } from '../records/record-ingest.ts';
import type { BureauAudit } from './bureau-audit.ts';

export interface Erasure {
  erasureId: string;
  centreId: string;
  elderId: string;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  completedAt: string | null;
}

export interface ErasureDeviceAck {
  deviceId: string;
  acked: boolean;
  templates: number | null;
  crops: number | null;
  ackedAt: string | null;
}

export interface ErasureView extends Erasure {
  state: 'pending' | 'completed';
  /** Every device of the centre the server knows, acknowledged or not. */
  devices: ErasureDeviceAck[];
}

export interface DeviceConfig {
  deviceId: string;
  configVersion: number;
  ackedAt: string;
}

export interface ErasureRepository {
  insert(e: Omit<Erasure, 'completedAt'>): Erasure;
  get(erasureId: string): Erasure | undefined;
  /** A pending erasure of this elder at this centre, if any. */
  pendingFor(centreId: string, elderId: string): Erasure | undefined;
  /** Pending erasures of a centre, oldest first, as the config document carries them. */
  pending(centreId: string): ConfigErasure[];
  list(q: { centreId?: string; state?: 'pending' | 'completed' }): ErasureView[];
  /** Devices of a centre the server knows (reported, or credentialed). */
  devicesOf(centreId: string): string[];
  /** The config version each device of a centre last acknowledged. */
  deviceConfigs(centreId: string): DeviceConfig[];
  centres(): string[];
  /** Changes with every request and completion, by any process (the config publisher polls it). */
  stamp(): string;
  /** The `ack` record handler for record ingest. */
  readonly handler: RecordHandler<'ack'>;
}

export interface ErasureRepositoryDeps {
  audit: BureauAudit;
  logger?: Logger;
  /** Told (inside the ingest transaction) when an ack completed an erasure of the centre. */
  onCompleted?: (centreId: string) => void;
}

export function createErasureRepository(db: Db, deps: ErasureRepositoryDeps): ErasureRepository {
  const cols = 'erasure_id AS erasureId, centre_id AS centreId, elder_id AS elderId, reason, requested_by AS requestedBy, requested_at AS requestedAt, completed_at AS completedAt';
  const insert = db.prepare<Omit<Erasure, 'completedAt'>>(
    'INSERT INTO erasures (erasure_id, centre_id, elder_id, reason, requested_by, requested_at) VALUES (@erasureId, @centreId, @elderId, @reason, @requestedBy, @requestedAt)',
  );
  const get = db.prepare<[string], Erasure>(`SELECT ${cols} FROM erasures WHERE erasure_id = ?`);
  const pendingFor = db.prepare<[string, string], Erasure>(`SELECT ${cols} FROM erasures WHERE centre_id = ? AND elder_id = ? AND completed_at IS NULL ORDER BY requested_at LIMIT 1`);
  const pending = db.prepare<[string], ConfigErasure>('SELECT erasure_id AS erasureId, elder_id AS elderId, requested_at AS requestedAt FROM erasures WHERE centre_id = ? AND completed_at IS NULL ORDER BY requested_at, erasure_id');
  const list = db.prepare<{ centreId: string | null; state: string | null }, Erasure>(
    `SELECT ${cols} FROM erasures WHERE (@centreId IS NULL OR centre_id = @centreId)
       AND (@state IS NULL OR (@state = 'pending') = (completed_at IS NULL))
     ORDER BY requested_at DESC, erasure_id LIMIT 1000`,
  );
  const acks = db.prepare<[string], { deviceId: string; templates: number; crops: number; ackedAt: string }>(
    'SELECT device_id AS deviceId, templates, crops, acked_at AS ackedAt FROM erasure_acks WHERE erasure_id = ? ORDER BY device_id',
  );
  const devicesOf = db.prepare<[string, string], string>(
    'SELECT device_id FROM devices WHERE centre_id = ? UNION SELECT device_id FROM device_credentials WHERE centre_id = ? ORDER BY 1',
  ).pluck();
  const deviceConfigs = db.prepare<[string], DeviceConfig>('SELECT device_id AS deviceId, config_version AS configVersion, acked_at AS ackedAt FROM device_configs WHERE centre_id = ? ORDER BY device_id');
  const centres = db.prepare<[], string>('SELECT DISTINCT centre_id FROM erasures ORDER BY centre_id').pluck();
  const stamp = db.prepare<[], string>("SELECT count(*) || ':' || count(completed_at) FROM erasures").pluck();
  const upsertDeviceConfig = db.prepare<[string, string, number, string]>(
    `INSERT INTO device_configs (centre_id, device_id, config_version, acked_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (centre_id, device_id) DO UPDATE SET config_version = excluded.config_version, acked_at = excluded.acked_at
     WHERE excluded.config_version > device_configs.config_version`,
  );
  const insertAck = db.prepare<[string, string, string, number, number, string]>(
    'INSERT INTO erasure_acks (erasure_id, centre_id, device_id, templates, crops, acked_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (erasure_id, device_id) DO NOTHING',
  );
  const unacked = db.prepare<[string, string, string, string], number>(
    `SELECT count(*) FROM (SELECT device_id FROM devices WHERE centre_id = ? UNION SELECT device_id FROM device_credentials WHERE centre_id = ?) d
     WHERE NOT EXISTS (SELECT 1 FROM erasure_acks a WHERE a.erasure_id = ? AND a.device_id = d.device_id AND a.centre_id = ?)`,
  ).pluck();
  const complete = db.prepare<[string, string]>('UPDATE erasures SET completed_at = ? WHERE erasure_id = ? AND completed_at IS NULL');

  const view = (e: Erasure): ErasureView => {
    const byDevice = new Map(acks.all(e.erasureId).map((a) => [a.deviceId, a]));
    const devices = new Set([...devicesOf.all(e.centreId, e.centreId), ...byDevice.keys()]);
    return {
      ...e,
      state: e.completedAt === null ? 'pending' : 'completed',
      devices: [...devices].sort().map((deviceId) => {
        const a = byDevice.get(deviceId);
        return a ? { deviceId, acked: true, templates: a.templates, crops: a.crops, ackedAt: a.ackedAt } : { deviceId, acked: false, templates: null, crops: null, ackedAt: null };
      }),
    };
  };

  const handler: RecordHandler<'ack'> = {
    type: 'ack',
    apply(r: AckRecord, receivedAt: Date) {
      upsertDeviceConfig.run(r.centreId, r.deviceId, r.configVersion, r.at);
      for (const a of r.erasures) {
        const e = get.get(a.erasureId);
        if (!e || e.centreId !== r.centreId || e.elderId !== a.elderId) {
          deps.logger?.warn({ centreId: r.centreId, deviceId: r.deviceId, erasureId: a.erasureId }, 'ack names an erasure this server does not hold for that centre and elder; ignored');
          continue;
        }
        if (insertAck.run(a.erasureId, r.centreId, r.deviceId, a.templates, a.crops, r.at).changes === 0) continue;
        deps.audit.append({ at: receivedAt, userId: null, action: 'erasure-ack', subject: a.erasureId, details: { centreId: r.centreId, deviceId: r.deviceId, elderId: a.elderId, templates: a.templates, crops: a.crops } });
        if (e.completedAt === null && unacked.get(r.centreId, r.centreId, a.erasureId, r.centreId) === 0) {
          complete.run(receivedAt.toISOString(), a.erasureId);
          deps.audit.append({ at: receivedAt, userId: null, action: 'erasure-complete', subject: a.erasureId, details: { centreId: r.centreId, elderId: a.elderId } });
          deps.logger?.info({ centreId: r.centreId, elderId: a.elderId, erasureId: a.erasureId }, 'erasure acknowledged by every device of the centre: complete');
          deps.onCompleted?.(r.centreId);
        }
      }
    },
  };

  return {
    insert(e) {
      insert.run(e);
      return get.get(e.erasureId)!;
    },
    get: (id) => get.get(id),
    pendingFor: (centreId, elderId) => pendingFor.get(centreId, elderId),
    pending: (centreId) => pending.all(centreId),
    list: (q) => list.all({ centreId: q.centreId ?? null, state: q.state ?? null }).map(view),
    devicesOf: (centreId) => devicesOf.all(centreId, centreId),
    deviceConfigs: (centreId) => deviceConfigs.all(centreId),
    centres: () => centres.all(),
    stamp: () => stamp.get() ?? '0:0',
    handler,
  };
}
