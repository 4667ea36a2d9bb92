/**
 * Enrolment at the door camera, JSON API for the wizard page (elders/enrolment-wizard.ts), behind
 * the staff session: 401 without one, 403 for another staff member's session, a look-alike
 * override by staff (a manager's call) or a change without its CSRF token.
 *
 *   POST   /api/v1/enrolments                 { elderId }        open a session (consent checked) → 201
 *   GET    /api/v1/enrolments/:id                                the session (frames kept)
 *   POST   /api/v1/enrolments/:id/preview     { cameraId? }      live quality feedback, nothing kept
 *   POST   /api/v1/enrolments/:id/capture     { cameraId? }      keep the newest frame if it is good
 *   POST   /api/v1/enrolments/:id/photo       image/jpeg|png     the ID-card photo (optional)
 *   POST   /api/v1/enrolments/:id/finish      { allowLookalike? } templates saved → 200; refused → 409 with problems
 *   DELETE /api/v1/enrolments/:id                                cancel (the frames are dropped)
 *
 * Frames and photos stay in memory for the session only; they are never stored or returned.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ID_PATTERN } from '../../../common/contract.ts';
import { EnrolmentError } from '../elders/enrolment.ts';
import { WizardError, type EnrolmentWizard, type WizardSession } from '../elders/enrolment-wizard.ts';
import { requireRole } from './staff-auth.ts';

/** Largest ID-card photo accepted (a phone photo of a card; sharp shrinks it on decode). */
export const MAX_PHOTO_BYTES = 8 * 1024 * 1024;

const ErrorSchema = Type.Object({ error: Type.String() });
const ProblemSchema = Type.Object({
  code: Type.String(),
  message: Type.String(),
  photo: Type.Optional(Type.String()),
  lookalike: Type.Optional(Type.Object({ elderId: Type.String(), name: Type.Optional(Type.String()), distance: Type.Number() })),
});
const RefusedSchema = Type.Object({ error: Type.String(), problems: Type.Array(ProblemSchema) });
const SessionSchema = Type.Object({ id: Type.String(), elderId: Type.String(), elderName: Type.String(), staffId: Type.String(), captures: Type.Integer(), idPhoto: Type.Boolean() });
const FeedbackSchema = Type.Object({ code: Type.String(), faceSize: Type.Optional(Type.Integer()), detail: Type.Optional(Type.String()) });
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) });
const strict = { additionalProperties: Type.Never() };
const CameraBody = Type.Object({ cameraId: Type.Optional(Type.String({ pattern: ID_PATTERN })) }, strict);
const StartBody = Type.Object({ elderId: Type.String({ pattern: ID_PATTERN }) }, strict);
const FinishBody = Type.Object({ allowLookalike: Type.Optional(Type.Boolean()) }, strict);
const errors = { 400: Type.Union([RefusedSchema, ErrorSchema]), 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: Type.Union([RefusedSchema, ErrorSchema]) };

function refused(reply: FastifyReply, code: number, err: EnrolmentError): FastifyReply {
  return reply.code(code).send({ error: err.message, problems: err.problems.map((p) => ({ code: p.code, message: p.message, ...(p.photo !== undefined ? { photo: p.photo } : {}), ...(p.lookalike ? { lookalike: p.lookalike } : {}) })) });
}

export function enrolmentApiRoutes(app: FastifyInstance, wizard: EnrolmentWizard): void {
  void app.register(async (api) => {
    // Raw image bodies for the ID-card photo, in this scope only.
    api.addContentTypeParser(['image/jpeg', 'image/png'], { parseAs: 'buffer', bodyLimit: MAX_PHOTO_BYTES }, (_req, body, done) => done(null, body));

    /** The session, if it is the caller's (or the caller is a manager); else the reply is sent. */
    const own = (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): WizardSession | undefined => {
      const s = wizard.get(request.params.id);
      if (!s) {
        void reply.code(404).send({ error: `no enrolment session ${request.params.id} (finished, cancelled or expired): start again` });
        return undefined;
      }
      const me = request.staff!;
      if (s.staffId !== me.staffId && me.role !== 'manager') {
        void reply.code(403).send({ error: `this enrolment session is ${s.staffId}'s` });
        return undefined;
      }
      return s;
    };
    const staff = { preValidation: requireRole('staff') };

    api.post<{ Body: Static<typeof StartBody> }>('/api/v1/enrolments', { ...staff, schema: { body: StartBody, response: { 201: Type.Object({ session: SessionSchema }), ...errors } } }, async (request, reply) => {
      try {
        return await reply.code(201).send({ session: wizard.start(request.body.elderId, request.staff!.staffId) });
      } catch (err) {
        if (err instanceof EnrolmentError) return refused(reply, 409, err);
        throw err;
      }
    });

    api.get<{ Params: Static<typeof IdParams> }>('/api/v1/enrolments/:id', { ...staff, schema: { params: IdParams, response: { 200: Type.Object({ session: SessionSchema }), ...errors } } }, async (request, reply) => {
      const s = own(request, reply);
      return s ? { session: s } : reply;
    });

    api.post<{ Params: Static<typeof IdParams>; Body: Static<typeof CameraBody> }>(
      '/api/v1/enrolments/:id/preview',
      { ...staff, schema: { params: IdParams, body: CameraBody, response: { 200: Type.Object({ feedback: FeedbackSchema }), ...errors } } },
      async (request, reply) => {
        if (!own(request, reply)) return reply;
        return { feedback: await wizard.preview(request.params.id, request.body?.cameraId) };
      },
    );

    api.post<{ Params: Static<typeof IdParams>; Body: Static<typeof CameraBody> }>(
      '/api/v1/enrolments/:id/capture',
      { ...staff, schema: { params: IdParams, body: CameraBody, response: { 200: Type.Object({ feedback: FeedbackSchema, session: SessionSchema }), ...errors } } },
      async (request, reply) => {
        if (!own(request, reply)) return reply;
        try {
          return await wizard.capture(request.params.id, request.body?.cameraId);
        } catch (err) {
          if (err instanceof WizardError) return reply.code(409).send({ error: err.message });
          throw err;
        }
      },
    );

    api.post<{ Params: Static<typeof IdParams>; Body: Buffer }>(
      '/api/v1/enrolments/:id/photo',
      { ...staff, schema: { params: IdParams, response: { 200: Type.Object({ feedback: FeedbackSchema, session: SessionSchema }), ...errors } } },
      async (request, reply) => {
        if (!own(request, reply)) return reply;
        if (!Buffer.isBuffer(request.body) || request.body.length === 0) return reply.code(400).send({ error: 'send the ID-card photo as the body, Content-Type image/jpeg or image/png' });
        return wizard.addPhoto(request.params.id, new Uint8Array(request.body));
      },
    );

    api.post<{ Params: Static<typeof IdParams>; Body: Static<typeof FinishBody> }>(
      '/api/v1/enrolments/:id/finish',
      { ...staff, schema: { params: IdParams, body: FinishBody, response: { 200: Type.Object({ elderId: Type.String(), name: Type.String(), templates: Type.Integer() }), ...errors } } },
      async (request, reply) => {
        if (!own(request, reply)) return reply;
        const allowLookalike = request.body?.allowLookalike === true;
        // A look-alike is let through by a manager only, and on record (audit `override`).
        if (allowLookalike && request.staff!.role !== 'manager') return reply.code(403).send({ error: 'only a manager may enrol a face that looks like another elder' });
        try {
          const r = await wizard.finish(request.params.id, { allowLookalike });
          return { elderId: r.elderId, name: r.name, templates: r.templates.length };
        } catch (err) {
          if (err instanceof WizardError && err.enrolment) return refused(reply, 409, err.enrolment);
          if (err instanceof WizardError) return reply.code(409).send({ error: err.message });
          throw err;
        }
      },
    );

    api.delete<{ Params: Static<typeof IdParams> }>('/api/v1/enrolments/:id', { ...staff, schema: { params: IdParams, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
      if (!own(request, reply)) return reply;
      wizard.cancel(request.params.id);
      return reply.code(204).send();
    });
  });
}
