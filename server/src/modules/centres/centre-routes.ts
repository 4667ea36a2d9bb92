/**
 * GET /centres: every centre with settings of its own (those the caller may see), and the
 * defaults the others have.
 * PUT /centres/:centreId: sets a centre's time zone, meal windows, name and/or district (400
 * naming each problem); admin only, audited.
 * GET /districts, POST /districts, PUT /districts/:districtId: the districts centres belong to.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE } from '../../../../common/meal-windows.ts';
import { ANY_ROLE, principalOf, visibleCentres } from '../../plugins/auth.ts';
import { ErrorSchema, errorReply, GuardedErrors } from '../../schemas.ts';
import type { ServerAudit } from '../audit/server-audit.ts';
import { CentreSettingsError, type CentreRepository } from './centre-repository.ts';
import type { DistrictRepository } from './district-repository.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const CentreSchema = Type.Object({
  centreId: Type.String(),
  timeZone: Type.String(),
  mealWindows: Type.String(),
  name: Nullable(Type.String()),
  districtId: Nullable(Type.String()),
  updatedAt: Nullable(Type.String()),
});

export const CentreListSchema = Type.Object({
  centres: Type.Array(CentreSchema),
  /** What a centre not listed has. */
  defaults: Type.Object({ timeZone: Type.String(), mealWindows: Type.String() }),
});

const CentreParams = Type.Object({ centreId: Type.String({ pattern: ID_PATTERN }) });
export const CentreBodySchema = Type.Object(
  {
    /** IANA time zone, e.g. Asia/Urumqi. */
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** breakfast=06:00-09:00,lunch=11:00-13:30,dinner=17:30-19:30 */
    mealWindows: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    /** null takes the centre out of its district. */
    districtId: Type.Optional(Type.Union([Type.String({ pattern: ID_PATTERN }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const DistrictSchema = Type.Object({
  districtId: Type.String(),
  name: Type.String(),
  /** Its centres the caller may see. */
  centreIds: Type.Array(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const DistrictParams = Type.Object({ districtId: Type.String({ pattern: ID_PATTERN }) });
const NewDistrictBody = Type.Object({ districtId: Type.String({ pattern: ID_PATTERN }), name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
const DistrictBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export interface CentreRoutesOptions {
  centres: CentreRepository;
  districts: DistrictRepository;
  audit: ServerAudit;
  now: () => Date;
  /** A centre's settings changed: its config document goes down to the boxes (bureau/centre-config.ts). */
  changed?: (centreId: string) => void;
}

export const centreRoutes: FastifyPluginAsync<CentreRoutesOptions> = async (app, { centres, districts, audit, now, changed }) => {
  app.get(
    '/centres',
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: { description: 'Centres with settings of their own (the caller\'s centres only), and the defaults of the others', response: { 200: CentreListSchema, ...GuardedErrors } },
    },
    async (request) => ({
      centres: centres.list(visibleCentres(request)),
      defaults: { timeZone: DEFAULT_TIME_ZONE, mealWindows: DEFAULT_MEAL_WINDOWS },
    }),
  );

  app.put<{ Params: Static<typeof CentreParams>; Body: Static<typeof CentreBodySchema> }>(
    '/centres/:centreId',
    {
      config: { access: { roles: ['admin'], scope: 'centre' } },
      schema: { description: "Sets a centre's time zone, meal windows, name or district", params: CentreParams, body: CentreBodySchema, response: { 200: CentreSchema, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request, reply) => {
      const at = now();
      try {
        const c = centres.set(request.params.centreId, request.body, at);
        const details = Object.fromEntries(Object.entries(request.body).map(([k, v]) => [k, v ?? null]));
        audit.record({ userId: principalOf(request).userId, action: 'centre-change', subject: c.centreId, details }, at);
        changed?.(c.centreId);
        return c;
      } catch (err) {
        if (!(err instanceof CentreSettingsError)) throw err;
        return reply.code(400).send(errorReply(400, err.message));
      }
    },
  );

  app.get(
    '/districts',
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: { description: "Districts and their centres: an analyst's own districts, a manager's centre's district, all for admin and auditor", response: { 200: Type.Object({ districts: Type.Array(DistrictSchema) }), ...GuardedErrors } },
    },
    async (request) => {
      const visible = visibleCentres(request);
      const all = districts.list();
      if (visible === 'all') return { districts: all };
      const own = new Set(principalOf(request).districtIds ?? []);
      return {
        districts: all
          .map((d) => ({ ...d, centreIds: d.centreIds.filter((c) => visible.includes(c)) }))
          .filter((d) => own.has(d.districtId) || d.centreIds.length > 0),
      };
    },
  );

  app.post<{ Body: Static<typeof NewDistrictBody> }>(
    '/districts',
    {
      config: { access: { roles: ['admin'], scope: 'all' } },
      schema: { description: 'Creates a district', body: NewDistrictBody, response: { 201: DistrictSchema, 400: ErrorSchema, 409: ErrorSchema, ...GuardedErrors } },
    },
    async (request, reply) => {
      const { districtId, name } = request.body;
      if (districts.get(districtId)) return reply.code(409).send(errorReply(409, `district ${districtId} exists already (PUT /districts/${districtId} renames it)`));
      const at = now();
      try {
        const { district } = districts.put(districtId, name, at);
        audit.record({ userId: principalOf(request).userId, action: 'district-change', subject: districtId, details: { name: district.name, created: true } }, at);
        return reply.code(201).send(district);
      } catch (err) {
        if (!(err instanceof CentreSettingsError)) throw err;
        return reply.code(400).send(errorReply(400, err.message));
      }
    },
  );

  app.put<{ Params: Static<typeof DistrictParams>; Body: Static<typeof DistrictBody> }>(
    '/districts/:districtId',
    {
      config: { access: { roles: ['admin'], scope: 'all' } },
      schema: { description: 'Renames a district', params: DistrictParams, body: DistrictBody, response: { 200: DistrictSchema, 400: ErrorSchema, 404: ErrorSchema, ...GuardedErrors } },
    },
    async (request, reply) => {
      const { districtId } = request.params;
      if (!districts.get(districtId)) return reply.code(404).send(errorReply(404, `no district ${districtId}`));
      const at = now();
      try {
        const { district } = districts.put(districtId, request.body.name, at);
        audit.record({ userId: principalOf(request).userId, action: 'district-change', subject: districtId, details: { name: district.name } }, at);
        return district;
      } catch (err) {
        if (!(err instanceof CentreSettingsError)) throw err;
        return reply.code(400).send(errorReply(400, err.message));
      }
    },
  );
};
