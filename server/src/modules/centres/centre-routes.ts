/**
 * GET /centres: every centre with settings of its own, and the defaults the others have.
 * PUT /centres/:centreId: sets a centre's time zone and/or meal windows (400 naming each problem).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PATTERN } from '../../../../common/contract.ts';
import { DEFAULT_MEAL_WINDOWS, DEFAULT_TIME_ZONE } from '../../../../common/meal-windows.ts';
import { ErrorSchema } from '../../schemas.ts';
import { CentreSettingsError, type CentreRepository } from './centre-repository.ts';

export const CentreSchema = Type.Object({
  centreId: Type.String(),
  timeZone: Type.String(),
  mealWindows: Type.String(),
  updatedAt: Type.Union([Type.String(), Type.Null()]),
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
  },
  { additionalProperties: false, minProperties: 1 },
);

export interface CentreRoutesOptions {
  centres: CentreRepository;
  now: () => Date;
  /** A centre's settings changed: its config document goes down to the boxes (bureau/centre-config.ts). */
  changed?: (centreId: string) => void;
}

export const centreRoutes: FastifyPluginAsync<CentreRoutesOptions> = async (app, { centres, now, changed }) => {
  app.get('/centres', { schema: { response: { 200: CentreListSchema, 401: ErrorSchema, 500: ErrorSchema } } }, async () => ({
    centres: centres.list(),
    defaults: { timeZone: DEFAULT_TIME_ZONE, mealWindows: DEFAULT_MEAL_WINDOWS },
  }));

  app.put<{ Params: Static<typeof CentreParams>; Body: Static<typeof CentreBodySchema> }>(
    '/centres/:centreId',
    { schema: { params: CentreParams, body: CentreBodySchema, response: { 200: CentreSchema, 400: ErrorSchema, 401: ErrorSchema, 500: ErrorSchema } } },
    async (request, reply) => {
      try {
        const c = centres.set(request.params.centreId, request.body, now());
        changed?.(c.centreId);
        return c;
      } catch (err) {
        if (!(err instanceof CentreSettingsError)) throw err;
        return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: err.message });
      }
    },
  );
};
