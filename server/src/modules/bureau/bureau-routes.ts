/**
 * The bureau's registry of record and what goes down to the boxes (issue 14, items 1-2):
 *
 *   GET  /centres/:centreId/elders                         effective status and category per elder
 *   GET  /centres/:centreId/elders/:elderId/decisions      the bureau's decisions, newest first
 *   POST /centres/:centreId/elders/:elderId/decisions      admin: a decision (audited)
 *   POST /centres/:centreId/erasures                       admin, or the centre's manager: erase an elder's face data
 *   GET  /centres/:centreId/erasures                       pending / completed, per device
 *   GET  /centres/:centreId/config                         the document issued, and each device's applied version
 *
 * ID-card numbers are masked unless `idNumbers=full`; the config document never holds one.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CentreConfigSchema, ID_PATTERN } from '../../../../common/contract.ts';
import { maskIdNumber } from '../../../../common/id-card.ts';
import { ELDER_STATUSES } from '../../../../common/records.ts';
import { actorOf, mayAccessCentre, type RouteAccess } from '../../plugins/access.ts';
import { ErrorSchema } from '../../schemas.ts';
import { BureauConflictError, BureauInputError, BureauNotFoundError, type BureauService } from './bureau-service.ts';
import type { CentreConfigService } from './centre-config.ts';
import type { DecisionRepository, EffectiveElder } from './decision-repository.ts';
import type { ErasureRepository } from './erasure-repository.ts';

const READERS: RouteAccess = { roles: ['admin', 'analyst', 'manager', 'auditor'], scope: 'centre' };
const ADMIN: RouteAccess = { roles: ['admin'], scope: 'centre' };
/** A centre manager may ask for an erasure at their own centre (issue 14, item 2). */
const ERASURE_REQUESTERS: RouteAccess = { roles: ['admin', 'manager'], scope: 'centre' };

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const StatusSchema = Type.Union(ELDER_STATUSES.map((s) => Type.Literal(s)));
const Errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 500: ErrorSchema };

export const DecisionSchema = Type.Object({
  id: Type.Integer(),
  centreId: Type.String(),
  elderId: Type.String(),
  status: StatusSchema,
  category: Nullable(Type.String()),
  effectiveOn: Type.String({ description: 'YYYY-MM-DD, the day it took effect' }),
  reason: Type.String(),
  decidedBy: Type.String(),
  decidedAt: Type.String(),
});

export const EffectiveElderSchema = Type.Object({
  centreId: Type.String(),
  elderId: Type.String(),
  name: Nullable(Type.String()),
  idNumber: Nullable(Type.String({ description: 'masked unless idNumbers=full' })),
  removed: Type.Boolean(),
  status: Nullable(StatusSchema),
  category: Nullable(Type.String()),
  statusSource: Type.Union([Type.Literal('bureau'), Type.Literal('box')]),
  boxStatus: Nullable(StatusSchema),
  boxCategory: Nullable(Type.String()),
  decision: Nullable(DecisionSchema),
});

const CentreParams = Type.Object({ centreId: Type.String({ pattern: ID_PATTERN }) });
const ElderParams = Type.Object({ centreId: Type.String({ pattern: ID_PATTERN }), elderId: Type.String({ pattern: ID_PATTERN }) });

const ElderListQuery = Type.Object(
  {
    status: Type.Optional(StatusSchema),
    includeRemoved: Type.Optional(Type.Boolean({ default: false })),
    idNumbers: Type.Optional(Type.Union([Type.Literal('masked'), Type.Literal('full')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);

export const DecisionBodySchema = Type.Object(
  {
    status: StatusSchema,
    /** The category the bureau confirms (absent: the box's stands). */
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    effectiveOn: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    reason: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

const ErasureBodySchema = Type.Object(
  {
    elderId: Type.String({ pattern: ID_PATTERN }),
    reason: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);

export const ErasureSchema = Type.Object({
  erasureId: Type.String(),
  centreId: Type.String(),
  elderId: Type.String(),
  reason: Type.String(),
  requestedBy: Type.String(),
  requestedAt: Type.String(),
  completedAt: Nullable(Type.String()),
  state: Type.Union([Type.Literal('pending'), Type.Literal('completed')]),
  devices: Type.Array(
    Type.Object({ deviceId: Type.String(), acked: Type.Boolean(), templates: Nullable(Type.Integer()), crops: Nullable(Type.Integer()), ackedAt: Nullable(Type.String()) }),
  ),
});

const ErasureListQuery = Type.Object({ state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('completed')])) }, { additionalProperties: false });

export const CentreConfigViewSchema = Type.Object({
  document: Nullable(CentreConfigSchema),
  devices: Type.Array(Type.Object({ deviceId: Type.String(), configVersion: Nullable(Type.Integer()), ackedAt: Nullable(Type.String()) })),
});

export interface BureauRoutesOptions {
  service: BureauService;
  decisions: DecisionRepository;
  erasures: ErasureRepository;
  configs: CentreConfigService;
  now: () => Date;
}

const reply4xx = (reply: FastifyReply, code: 400 | 403 | 404 | 409, message: string) =>
  reply.code(code).send({ statusCode: code, error: { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict' }[code], message });

/** The route's centre must be one the caller may see (403 otherwise). */
function centreDenied(request: FastifyRequest<{ Params: { centreId: string } }>, reply: FastifyReply): FastifyReply | undefined {
  return mayAccessCentre(request, request.params.centreId) ? undefined : reply4xx(reply, 403, `centre ${request.params.centreId} is not one of yours`);
}

function sendError(err: unknown, reply: FastifyReply): FastifyReply {
  if (err instanceof BureauInputError) return reply4xx(reply, 400, err.message);
  if (err instanceof BureauNotFoundError) return reply4xx(reply, 404, err.message);
  if (err instanceof BureauConflictError) return reply4xx(reply, 409, err.message);
  throw err;
}

const masked = (e: EffectiveElder): EffectiveElder => ({ ...e, idNumber: e.idNumber === null ? null : maskIdNumber(e.idNumber) });

export const bureauRoutes: FastifyPluginAsync<BureauRoutesOptions> = async (app, { service, decisions, erasures, configs, now }) => {
  app.get<{ Params: Static<typeof CentreParams>; Querystring: Static<typeof ElderListQuery> }>(
    '/centres/:centreId/elders',
    {
      config: { access: READERS },
      schema: {
        description: "A centre's elders with their effective status and category: the bureau's decision where there is one, the box's report otherwise.",
        params: CentreParams,
        querystring: ElderListQuery,
        response: { 200: Type.Object({ elders: Type.Array(EffectiveElderSchema), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }), ...Errors },
      },
    },
    async (request, reply) => {
      const denied = centreDenied(request, reply);
      if (denied) return denied;
      const { status, includeRemoved, idNumbers, limit = 100, offset = 0 } = request.query;
      const page = decisions.effective({ centreId: request.params.centreId, ...(status ? { status } : {}), includeRemoved: includeRemoved === true, limit, offset });
      return { elders: idNumbers === 'full' ? page.elders : page.elders.map(masked), total: page.total, limit, offset };
    },
  );

  app.get<{ Params: Static<typeof ElderParams> }>(
    '/centres/:centreId/elders/:elderId/decisions',
    {
      config: { access: READERS },
      schema: { description: "The bureau's decisions on one elder, newest first (the first is in force).", params: ElderParams, response: { 200: Type.Object({ decisions: Type.Array(DecisionSchema) }), ...Errors } },
    },
    async (request, reply) => {
      const denied = centreDenied(request, reply);
      if (denied) return denied;
      return { decisions: decisions.history(request.params.centreId, request.params.elderId) };
    },
  );

  app.post<{ Params: Static<typeof ElderParams>; Body: Static<typeof DecisionBodySchema> }>(
    '/centres/:centreId/elders/:elderId/decisions',
    {
      config: { access: ADMIN },
      schema: {
        description: "Records the bureau's decision on an elder (confirm category and eligibility, suspend, reactivate, deceased, moved), audited; the centre's boxes get it in their config document.",
        params: ElderParams,
        body: DecisionBodySchema,
        response: { 201: Type.Object({ decision: DecisionSchema, elder: EffectiveElderSchema }), ...Errors },
      },
    },
    async (request, reply) => {
      const denied = centreDenied(request, reply);
      if (denied) return denied;
      try {
        const r = service.decide(request.params.centreId, request.params.elderId, request.body, actorOf(request), now());
        return await reply.code(201).send({ decision: r.decision, elder: masked(r.elder) });
      } catch (err) {
        return sendError(err, reply);
      }
    },
  );

  app.post<{ Params: Static<typeof CentreParams>; Body: Static<typeof ErasureBodySchema> }>(
    '/centres/:centreId/erasures',
    {
      config: { access: ERASURE_REQUESTERS },
      schema: {
        description: "Asks every box of the centre to delete an elder's face templates and review crops; complete once every device has acknowledged. Meals stay.",
        params: CentreParams,
        body: ErasureBodySchema,
        response: { 201: ErasureSchema, 409: ErrorSchema, ...Errors },
      },
    },
    async (request, reply) => {
      const denied = centreDenied(request, reply);
      if (denied) return denied;
      try {
        const e = service.requestErasure(request.params.centreId, request.body.elderId, request.body.reason, actorOf(request), now());
        return await reply.code(201).send(erasures.list({ centreId: e.centreId }).find((x) => x.erasureId === e.erasureId)!);
      } catch (err) {
        return sendError(err, reply);
      }
    },
  );

  app.get<{ Params: Static<typeof CentreParams>; Querystring: Static<typeof ErasureListQuery> }>(
    '/centres/:centreId/erasures',
    {
      config: { access: READERS },
      schema: { description: "A centre's erasures, newest first, with each device's acknowledgement (templates and crops deleted).", params: CentreParams, querystring: ErasureListQuery, response: { 200: Type.Object({ erasures: Type.Array(ErasureSchema) }), ...Errors } },
    },
    async (request, reply) => {
      const denied = centreDenied(request, reply);
      if (denied) return denied;
      return { erasures: erasures.list({ centreId: request.params.centreId, ...(request.query.state ? { state: request.query.state } : {}) }) };
    },
  );

  app.get<{ Params: Static<typeof CentreParams> }>(
    '/centres/:centreId/config',
    {
      config: { access: READERS },
      schema: { description: "The centre's config document as last issued (null before any), and the version each device last acknowledged.", params: CentreParams, response: { 200: CentreConfigViewSchema, ...Errors } },
    },
    async (request, reply) => {
      const denied = centreDenied(request, reply);
      if (denied) return denied;
      const { centreId } = request.params;
      const acked = new Map(erasures.deviceConfigs(centreId).map((d) => [d.deviceId, d]));
      const ids = [...new Set([...erasures.devicesOf(centreId), ...acked.keys()])].sort();
      return { document: configs.current(centreId), devices: ids.map((deviceId) => ({ deviceId, configVersion: acked.get(deviceId)?.configVersion ?? null, ackedAt: acked.get(deviceId)?.ackedAt ?? null })) };
    },
  );
};
