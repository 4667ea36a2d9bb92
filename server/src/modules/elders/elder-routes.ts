/**
 * GET /elders: the elder registry as the centres' boxes reported it, by centre and id, filtered
 * by centre and status, paginated. ID-card numbers are masked (`**************123X`) unless
 * `idNumbers=full` is asked for: the server has one role today (the admin bearer token,
 * plugins/auth.ts), and a list pasted into a spreadsheet should not carry full numbers by
 * accident. When the bureau's roles come (DESIGN: district analyst, centre manager, auditor),
 * `full` is for the bureau admin alone.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { maskIdNumber } from '../../../../common/id-card.ts';
import { ELDER_STATUSES } from '../../../../common/records.ts';
import { ErrorSchema } from '../../schemas.ts';
import type { ElderRegistryRepository } from './elder-registry.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const StatusSchema = Type.Union(ELDER_STATUSES.map((s) => Type.Literal(s)));

export const RegistryElderSchema = Type.Object({
  centreId: Type.String(),
  elderId: Type.String(),
  deviceId: Type.String(),
  revision: Type.Integer(),
  removed: Type.Boolean(),
  name: Nullable(Type.String()),
  idNumber: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  category: Nullable(Type.String()),
  status: Type.Union([StatusSchema, Type.Null()]),
  consent: Type.Union([
    Type.Object({ textVersion: Type.String(), signedOn: Type.String(), signedBy: Type.Union([Type.Literal('elder'), Type.Literal('guardian')]), guardianName: Nullable(Type.String()), staffId: Type.String() }),
    Type.Null(),
  ]),
  change: Nullable(Type.String()),
  staffId: Nullable(Type.String()),
  changedAt: Type.String(),
  receivedAt: Type.String(),
});

const ElderListQuery = Type.Object(
  {
    centreId: Type.Optional(Type.String({ pattern: ID_PATTERN })),
    status: Type.Optional(StatusSchema),
    includeRemoved: Type.Optional(Type.Boolean({ default: false })),
    /** `masked` (default) or `full`. */
    idNumbers: Type.Optional(Type.Union([Type.Literal('masked'), Type.Literal('full')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);

export const ElderListSchema = Type.Object({
  elders: Type.Array(RegistryElderSchema),
  /** Every elder matching the filters; `elders` is one page of them. */
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const elderRoutes: FastifyPluginAsync<{ registry: ElderRegistryRepository }> = async (app, { registry }) => {
  app.get<{ Querystring: Static<typeof ElderListQuery> }>(
    '/elders',
    { schema: { querystring: ElderListQuery, response: { 200: ElderListSchema, 400: ErrorSchema, 401: ErrorSchema, 500: ErrorSchema } } },
    async (request) => {
      const { centreId, status, includeRemoved, idNumbers, limit = 100, offset = 0 } = request.query;
      const page = registry.list({ ...(centreId ? { centreId } : {}), ...(status ? { status } : {}), includeRemoved: includeRemoved === true, limit, offset });
      const elders = idNumbers === 'full' ? page.elders : page.elders.map((e) => ({ ...e, idNumber: e.idNumber === null ? null : maskIdNumber(e.idNumber) }));
      return { elders, total: page.total, limit, offset };
    },
  );
};
