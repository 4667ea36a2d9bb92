/**
 * GET /devices: the edge boxes, with their centre: those registered (`mealcheck device add`)
 * and those heard from (events, status topic), merged, for the caller's centres only.
 * Never a password hash.
 *
 * POST /devices (admin): registers a box, or gives it a new password, and answers the MQTT login
 * once (as `mealcheck device add` prints it); DELETE /devices/:centreId/:deviceId (admin) takes
 * its login away. Both audited. The embedded broker checks logins against this table at once; a
 * Mosquitto in front needs `mealcheck broker-config` written again.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { ANY_ROLE, canSeeCentre, principalOf } from '../../plugins/auth.ts';
import { ErrorSchema, errorReply, GuardedErrors } from '../../schemas.ts';
import type { ServerAudit } from '../audit/server-audit.ts';
import type { DeviceRepository } from '../meals/device-repository.ts';
import { deviceUsername, type DeviceCredentialRepository } from './credential-repository.ts';

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

const NewDeviceBody = Type.Object({ centreId: Type.String({ pattern: ID_PATTERN, maxLength: 64 }), deviceId: Type.String({ pattern: ID_PATTERN, maxLength: 64 }) }, { additionalProperties: false });
const DeviceParams = Type.Object({ centreId: Type.String({ pattern: ID_PATTERN }), deviceId: Type.String({ pattern: ID_PATTERN }) });
const Login = Type.Object({
  centreId: Type.String(),
  deviceId: Type.String(),
  /** MEALCHECK_MQTT_USERNAME for the box. */
  username: Type.String(),
  /** MEALCHECK_MQTT_PASSWORD for the box: shown this once, stored only as a hash. */
  password: Type.String(),
  /** True when the box was registered already and now has a new password (the old one stops working). */
  replaced: Type.Boolean(),
});

export const deviceRoutes: FastifyPluginAsync<{ devices: DeviceRepository; credentials: DeviceCredentialRepository; audit: ServerAudit; now: () => Date }> = async (app, { devices, credentials, audit, now }) => {
  app.post<{ Body: Static<typeof NewDeviceBody> }>(
    '/devices',
    {
      config: { access: { roles: ['admin'], scope: 'all' } },
      schema: { description: "Registers a box (or gives it a new password) and answers its MQTT login once", body: NewDeviceBody, response: { 201: Login, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request, reply) => {
      const { centreId, deviceId } = request.body;
      const at = now();
      const replaced = credentials.list().some((c) => c.centreId === centreId && c.deviceId === deviceId);
      const password = await credentials.add(centreId, deviceId, at);
      audit.record({ userId: principalOf(request).userId, action: 'device-add', subject: `${centreId}/${deviceId}`, details: { replaced } }, at);
      return reply.code(201).send({ centreId, deviceId, username: deviceUsername(centreId, deviceId), password, replaced });
    },
  );

  app.delete<{ Params: Static<typeof DeviceParams> }>(
    '/devices/:centreId/:deviceId',
    {
      config: { access: { roles: ['admin'], scope: 'all' } },
      schema: { description: "Takes a box's MQTT login away (its meals stay)", params: DeviceParams, response: { 200: Type.Object({ centreId: Type.String(), deviceId: Type.String(), removed: Type.Literal(true) }), 400: ErrorSchema, 404: ErrorSchema, ...GuardedErrors } },
    },
    async (request, reply) => {
      const { centreId, deviceId } = request.params;
      if (!credentials.remove(centreId, deviceId)) return reply.code(404).send(errorReply(404, `device ${centreId}/${deviceId} is not registered`));
      const at = now();
      audit.record({ userId: principalOf(request).userId, action: 'device-remove', subject: `${centreId}/${deviceId}`, details: {} }, at);
      return { centreId, deviceId, removed: true as const };
    },
  );

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
