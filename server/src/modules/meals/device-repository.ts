/** Edge boxes the server has heard from, by their events and their retained status topic. */
import type { Db } from '../../../../common/sqlite.ts';

export type DeviceState = 'unknown' | 'online' | 'offline';

export interface DeviceRow {
  centreId: string;
  deviceId: string;
  status: DeviceState;
  statusAt: string | null;
  lastSeen: string;
}

export interface DeviceRepository {
  /** The device sent something (e.g. events): it is alive now. */
  seen(centreId: string, deviceId: string, at: Date): void;
  /** The device's status topic changed; `statusAt` is the device's own timestamp if it gave one. */
  setStatus(centreId: string, deviceId: string, status: 'online' | 'offline', at: Date, statusAt?: string): void;
  find(centreId: string, deviceId: string): DeviceRow | undefined;
  list(): DeviceRow[];
}

export function createDeviceRepository(db: Db): DeviceRepository {
  const seen = db.prepare(
    `INSERT INTO devices (centre_id, device_id, last_seen) VALUES (?, ?, ?)
     ON CONFLICT (centre_id, device_id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
  );
  const setStatus = db.prepare(
    `INSERT INTO devices (centre_id, device_id, status, status_at, last_seen) VALUES (@centreId, @deviceId, @status, @statusAt, @at)
     ON CONFLICT (centre_id, device_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at,
       last_seen = max(last_seen, excluded.last_seen)`,
  );
  const cols = 'centre_id AS centreId, device_id AS deviceId, status, status_at AS statusAt, last_seen AS lastSeen';
  const find = db.prepare<[string, string], DeviceRow>(`SELECT ${cols} FROM devices WHERE centre_id = ? AND device_id = ?`);
  const list = db.prepare<[], DeviceRow>(`SELECT ${cols} FROM devices ORDER BY centre_id, device_id`);

  return {
    seen: (centreId, deviceId, at) => void seen.run(centreId, deviceId, at.toISOString()),
    setStatus: (centreId, deviceId, status, at, statusAt) =>
      void setStatus.run({ centreId, deviceId, status, statusAt: statusAt ?? at.toISOString(), at: at.toISOString() }),
    find: (centreId, deviceId) => find.get(centreId, deviceId),
    list: () => list.all(),
  };
}
