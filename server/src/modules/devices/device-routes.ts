/**
 * GET /devices: the edge boxes, with their centre: those registered (`mealcheck device add`)
 * and those heard from (events, status topic), merged, for the caller's centres only.
 * Never a password hash.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { ANY_ROLE, canSeeCentre } from '../../plugins/auth.ts';
import { ErrorSchema, GuardedErrors } from '../../schemas.ts';
import type { DeviceRepository } from '../meals/device-repository.ts';
import type { DeviceCredentialRepository } from './credential-repository.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const DeviceSchema = Type.Object({
  centreId: Type.String(),
  deviceId: Type.String(),
  /** Has an MQTT credential on this server. */
  registered: Type.Boolean(),
  registeredAt: Nullable(Type.String()),
  /** From the retained status topic: unknown until the box first connects. */
  status: Type.Union([Type.Literal('unknown'), Type.Literal('online'), Type.Literal('offline')]),
  statusAt: Nullable(Type.String()),
  /** When the server last heard from it; null for a box registered but never heard from. */
  lastSeen: Nullable(Type.String()),
});
const DeviceQuery = Type.Object({ centreId: Type.Optional(Type.String({ pattern: ID_PATTERN })) }, { additionalProperties: false });

export const deviceRoutes: FastifyPluginAsync<{ devices: DeviceRepository; credentials: DeviceCredentialRepository }> = async (app, { devices, credentials }) => {
  app.get<{ Querystring: Static<typeof DeviceQuery> }>(
    '/devices',
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: { description: 'Edge boxes by centre: registered and heard from', querystring: DeviceQuery, response: { 200: Type.Object({ devices: Type.Array(DeviceSchema) }), 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request) => {
      const byKey = new Map<string, Static<typeof DeviceSchema>>();
      const key = (c: string, d: string) => `${c}\0${d}`;
      for (const c of credentials.list()) {
        byKey.set(key(c.centreId, c.deviceId), { centreId: c.centreId, deviceId: c.deviceId, registered: true, registeredAt: c.createdAt, status: 'unknown', statusAt: null, lastSeen: null });
      }
      for (const d of devices.list()) {
        const k = key(d.centreId, d.deviceId);
        const reg = byKey.get(k);
        byKey.set(k, { centreId: d.centreId, deviceId: d.deviceId, registered: reg !== undefined, registeredAt: reg?.registeredAt ?? null, status: d.status, statusAt: d.statusAt, lastSeen: d.lastSeen });
      }
      const only = request.query.centreId;
      const list = [...byKey.values()]
        .filter((d) => (only === undefined || d.centreId === only) && canSeeCentre(request, d.centreId))
        .sort((a, b) => (a.centreId === b.centreId ? a.deviceId.localeCompare(b.deviceId) : a.centreId.localeCompare(b.centreId)));
      return { devices: list };
    },
  );
};
