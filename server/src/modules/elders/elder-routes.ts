/**
 * GET /elders: the elder registry as the centres' boxes reported it, by centre and id, filtered
 * by centre and status, paginated, for the caller's centres only. ID-card numbers are masked
 * (`**************123X`) unless `idNumbers=full` is asked for, which is for the bureau admin
 * alone (403 for the other roles): a list pasted into a spreadsheet should not carry full
 * numbers by accident.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { maskIdNumber } from '../../../../common/id-card.ts';
import { ELDER_STATUSES } from '../../../../common/records.ts';
import { ANY_ROLE, principalOf, visibleCentres } from '../../plugins/auth.ts';
import { ErrorSchema, errorReply, GuardedErrors } from '../../schemas.ts';
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
    {
      config: { access: { roles: ANY_ROLE, scope: 'centre' } },
      schema: { description: "The elder registry as the boxes reported it (the caller's centres only); ID numbers masked unless idNumbers=full (admin)", querystring: ElderListQuery, response: { 200: ElderListSchema, 400: ErrorSchema, ...GuardedErrors } },
    },
    async (request, reply) => {
      const { centreId, status, includeRemoved, idNumbers, limit = 100, offset = 0 } = request.query;
      if (idNumbers === 'full' && principalOf(request).role !== 'admin') return reply.code(403).send(errorReply(403, 'idNumbers=full is for the bureau admin; ask for masked numbers'));
      const visible = visibleCentres(request);
      const page = registry.list({ ...(centreId ? { centreId } : {}), ...(visible !== 'all' ? { centreIds: visible } : {}), ...(status ? { status } : {}), includeRemoved: includeRemoved === true, limit, offset });
      const elders = idNumbers === 'full' ? page.elders : page.elders.map((e) => ({ ...e, idNumber: e.idNumber === null ? null : maskIdNumber(e.idNumber) }));
      return { elders, total: page.total, limit, offset };
    },
  );
};
