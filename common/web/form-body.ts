/**
 * `application/x-www-form-urlencoded` bodies for the staff pages' forms (they work without
 * JavaScript). Registered only inside the page plugins that want it: the JSON routes stay
 * JSON-only, so a cross-site form cannot reach them at all.
 */
import type { FastifyInstance } from 'fastify';

export function registerFormBody(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    const out: Record<string, string> = {};
    // First value wins: a repeated field cannot override the CSRF token or an id.
    for (const [k, v] of new URLSearchParams(body as string)) if (!(k in out)) out[k] = v;
    done(null, out);
  });
}
