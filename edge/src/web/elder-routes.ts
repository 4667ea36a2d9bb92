/**
 * The elder registry's JSON API for staff (issue 12, item 2), behind the staff session
 * (staff-auth.ts): every route answers 401 without a session and 403 for a role too low or a
 * state-changing request without its CSRF token. The pages call these like any client.
 *
 *   GET    /api/v1/elders?q=&status=&limit=&offset=   staff    list/search (name, id, ID-card tail)
 *   GET    /api/v1/elders/:elderId                    staff    one elder (ID number masked; full for a manager with ?idNumber=full)
 *   POST   /api/v1/elders                             staff    register (optionally with the consent)
 *   PATCH  /api/v1/elders/:elderId                    staff    edit name, ID number, phone, category
 *   POST   /api/v1/elders/:elderId/status             staff    suspend / reactivate / deceased / moved
 *   DELETE /api/v1/elders/:elderId                    manager  remove (templates deleted at once)
 *   POST   /api/v1/elders/:elderId/consent            staff    record the signed consent
 *   POST   /api/v1/elders/:elderId/consent/withdraw   staff    withdraw it (templates deleted at once)
 *   GET    /api/v1/consent-texts/:version             staff    the consent text (zh-CN; ?lang=en)
 *
 * ID-card numbers leave the box's API masked (`**************002X`) except to a manager who
 * asks for one elder's in full. Face data never appears here.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ID_PATTERN } from '../../../common/contract.ts';
import { maskIdNumber } from '../../../common/id-card.ts';
import { CONSENT_SIGNERS, ELDER_STATUSES } from '../../../common/records.ts';
import { ElderExistsError, type ElderDetails } from '../elders/elder-repository.ts';
import { ElderInputError, ElderNotFoundError, type ElderRegistry } from '../elders/registry-service.ts';
import { elderPages } from './pages/elder-pages.ts';
import { enrolmentPages } from './pages/enrolment-pages.ts';
import { enrolmentApiRoutes } from './enrolment-routes.ts';
import type { EnrolmentWizard } from '../elders/enrolment-wizard.ts';
import { requireRole } from './staff-auth.ts';
import type { EdgeWebPlugin } from './status-server.ts';

/**
 * A body field the API does not know is refused (400), not dropped: Fastify's validator strips
 * fields under `additionalProperties: false`, but not under a schema nothing matches.
 */
const strict = { additionalProperties: Type.Never() };
const ErrorSchema = Type.Object({ error: Type.String(), problems: Type.Optional(Type.Array(Type.String())) });
const StatusSchema = Type.Union(ELDER_STATUSES.map((s) => Type.Literal(s)));
const SignerSchema = Type.Union(CONSENT_SIGNERS.map((s) => Type.Literal(s)));

const ConsentSchema = Type.Object({
  textVersion: Type.String(),
  signedOn: Type.String(),
  signedBy: SignerSchema,
  guardianName: Type.Optional(Type.String()),
  staffId: Type.String(),
  recordedAt: Type.String(),
});

/** An elder as the staff API shows it (never face data: templates are a count). */
export const ElderSchema = Type.Object({
  elderId: Type.String(),
  name: Type.String(),
  /** Masked unless a manager asked for it in full. */
  idNumber: Type.Optional(Type.String()),
  phone: Type.Optional(Type.String()),
  category: Type.Optional(Type.String()),
  status: StatusSchema,
  consent: Type.Optional(ConsentSchema),
  /** The bureau's decision from the centre's config document: its status wins over the box's. */
  bureau: Type.Optional(Type.Object({ status: StatusSchema, since: Type.String(), category: Type.Optional(Type.String()), appliedAt: Type.String() })),
  templateCount: Type.Integer(),
  revision: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.Optional(Type.String()),
});

const ElderIdParams = Type.Object({ elderId: Type.String({ pattern: ID_PATTERN }) });
const Text = (max: number) => Type.String({ maxLength: max });
const ConsentBody = Type.Object(
  { textVersion: Type.Optional(Text(64)), signedOn: Type.Optional(Text(10)), signedBy: SignerSchema, guardianName: Type.Optional(Text(100)) },
  strict,
);
const CreateBody = Type.Object(
  { elderId: Type.Optional(Text(64)), name: Text(100), idNumber: Type.Optional(Text(40)), phone: Type.Optional(Text(40)), category: Type.Optional(Text(32)), consent: Type.Optional(ConsentBody) },
  strict,
);
const EditBody = Type.Object(
  { name: Type.Optional(Text(100)), idNumber: Type.Optional(Text(40)), phone: Type.Optional(Text(40)), category: Type.Optional(Text(32)) },
  { ...strict, minProperties: 1 },
);
const StatusBody = Type.Object({ status: StatusSchema }, strict);
const ListQuery = Type.Object(
  {
    q: Type.Optional(Text(64)),
    status: Type.Optional(StatusSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);
const GetQuery = Type.Object({ idNumber: Type.Optional(Type.Literal('full')) }, { additionalProperties: false });

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };

/** The elder as the API shows it: ID number masked unless `full`. */
export function elderView(d: ElderDetails, full = false): Static<typeof ElderSchema> {
  const { idNumber, ...rest } = d;
  return { ...rest, ...(idNumber !== undefined ? { idNumber: full ? idNumber : maskIdNumber(idNumber) } : {}) };
}

/** Registry errors → 400 (every problem), 404, 409; anything else is a 500 for the error handler. */
export function sendRegistryError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof ElderInputError) return reply.code(400).send({ error: err.message, problems: err.problems });
  if (err instanceof ElderNotFoundError) return reply.code(404).send({ error: err.message });
  if (err instanceof ElderExistsError) return reply.code(409).send({ error: err.message });
  throw err;
}

export function elderApiRoutes(app: FastifyInstance, registry: ElderRegistry): void {
  const one = { 200: Type.Object({ elder: ElderSchema }), ...errors };

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/elders',
    { preValidation: requireRole('staff'), schema: { querystring: ListQuery, response: { 200: Type.Object({ elders: Type.Array(ElderSchema), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }), ...errors } } },
    async (request) => {
      const { q, status, limit = 50, offset = 0 } = request.query;
      const page = registry.search({ ...(q !== undefined ? { query: q } : {}), ...(status ? { status } : {}), limit, offset });
      return { elders: page.elders.map((e) => elderView(e)), total: page.total, limit, offset };
    },
  );

  app.get<{ Params: Static<typeof ElderIdParams>; Querystring: Static<typeof GetQuery> }>(
    '/api/v1/elders/:elderId',
    { preValidation: requireRole('staff'), schema: { params: ElderIdParams, querystring: GetQuery, response: one } },
    async (request, reply) => {
      const full = request.query.idNumber === 'full';
      // The full number is for a manager checking it against the card, one elder at a time.
      if (full && request.staff!.role !== 'manager') return reply.code(403).send({ error: 'only a manager sees a full ID-card number' });
      const d = registry.get(request.params.elderId);
      if (!d) return reply.code(404).send({ error: `no elder ${request.params.elderId} on this box` });
      return { elder: elderView(d, full) };
    },
  );

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/v1/elders',
    { preValidation: requireRole('staff'), schema: { body: CreateBody, response: { 201: Type.Object({ elder: ElderSchema }), ...errors } } },
    async (request, reply) => {
      const { consent, ...input } = request.body;
      try {
        return await reply.code(201).send({ elder: elderView(registry.create(input, request.staff!.staffId, consent)) });
      } catch (err) {
        return sendRegistryError(reply, err);
      }
    },
  );

  app.patch<{ Params: Static<typeof ElderIdParams>; Body: Static<typeof EditBody> }>(
    '/api/v1/elders/:elderId',
    { preValidation: requireRole('staff'), schema: { params: ElderIdParams, body: EditBody, response: one } },
    async (request, reply) => {
      try {
        return { elder: elderView(registry.update(request.params.elderId, request.body, request.staff!.staffId)) };
      } catch (err) {
        return sendRegistryError(reply, err);
      }
    },
  );

  app.post<{ Params: Static<typeof ElderIdParams>; Body: Static<typeof StatusBody> }>(
    '/api/v1/elders/:elderId/status',
    { preValidation: requireRole('staff'), schema: { params: ElderIdParams, body: StatusBody, response: one } },
    async (request, reply) => {
      try {
        return { elder: elderView(registry.setStatus(request.params.elderId, request.body.status, request.staff!.staffId)) };
      } catch (err) {
        return sendRegistryError(reply, err);
      }
    },
  );

  app.delete<{ Params: Static<typeof ElderIdParams> }>(
    '/api/v1/elders/:elderId',
    { preValidation: requireRole('manager'), schema: { params: ElderIdParams, response: { 200: Type.Object({ removed: Type.Object({ elderId: Type.String(), name: Type.String(), templates: Type.Integer() }) }), ...errors } } },
    async (request, reply) => {
      try {
        const r = registry.remove(request.params.elderId, request.staff!.staffId);
        return { removed: { elderId: request.params.elderId, ...r } };
      } catch (err) {
        return sendRegistryError(reply, err);
      }
    },
  );

  app.post<{ Params: Static<typeof ElderIdParams>; Body: Static<typeof ConsentBody> }>(
    '/api/v1/elders/:elderId/consent',
    { preValidation: requireRole('staff'), schema: { params: ElderIdParams, body: ConsentBody, response: one } },
    async (request, reply) => {
      try {
        return { elder: elderView(registry.recordConsent(request.params.elderId, request.body, request.staff!.staffId)) };
      } catch (err) {
        return sendRegistryError(reply, err);
      }
    },
  );

  app.post<{ Params: Static<typeof ElderIdParams> }>(
    '/api/v1/elders/:elderId/consent/withdraw',
    { preValidation: requireRole('staff'), schema: { params: ElderIdParams, response: { 200: Type.Object({ elder: ElderSchema, templatesDeleted: Type.Integer() }), ...errors } } },
    async (request, reply) => {
      try {
        const r = registry.withdrawConsent(request.params.elderId, request.staff!.staffId);
        return { elder: elderView(registry.get(request.params.elderId)!), templatesDeleted: r.templates };
      } catch (err) {
        return sendRegistryError(reply, err);
      }
    },
  );

  app.get<{ Params: { version: string }; Querystring: { lang?: 'zh-CN' | 'en' } }>(
    '/api/v1/consent-texts/:version',
    {
      preValidation: requireRole('staff'),
      schema: {
        params: Type.Object({ version: Type.String({ pattern: ID_PATTERN }) }),
        querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('zh-CN'), Type.Literal('en')])) }, { additionalProperties: false }),
        response: { 200: Type.Object({ version: Type.String(), lang: Type.String(), text: Type.String(), current: Type.Boolean() }), ...errors },
      },
    },
    async (request, reply) => {
      const version = request.params.version === 'current' ? registry.consentTexts.current() : request.params.version;
      const t = registry.consentTexts.get(version, request.query.lang);
      if (!t) return reply.code(404).send({ error: `no consent text ${version} on this box (versions: ${registry.consentTexts.versions().join(', ')})` });
      return { version: t.version, lang: t.lang, text: t.text, current: t.version === registry.consentTexts.current() };
    },
  );
}

/**
 * The elder feature's plugins for StatusServerOptions.plugins, after the staff feature's: the
 * JSON routes, and the pages (pages/elder-pages.ts) in a scope of their own, which alone
 * accepts form bodies.
 */
export function elderWebPlugins(registry: ElderRegistry, wizard?: EnrolmentWizard): EdgeWebPlugin[] {
  return [
    async (app) => {
      elderApiRoutes(app, registry);
      if (wizard) enrolmentApiRoutes(app, wizard);
      await app.register(async (pages) => {
        elderPages(pages, registry);
        if (wizard) enrolmentPages(pages, registry);
      });
    },
  ];
}
