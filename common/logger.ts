/**
 * One logger factory for both programs. Logs go to stderr as JSON lines (pino), so stdout
 * stays free for command output (tables, `--json` results).
 * Never log descriptors or photos: biometric data stays on the edge and out of logs.
 * Secrets never reach a log either: every logger made here redacts them (see LOG_REDACT).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const REDACTED = '[redacted]';

/**
 * Keys whose values are secrets wherever they appear, up to three levels deep: passwords, tokens,
 * cookies and authorisation headers (a request logged with its headers, a config object, an
 * error carrying the options it was given). pino's paths take one `*` per level, hence the copies.
 */
const SECRET_KEYS = ['password', 'passwd', 'token', 'adminToken', 'authorization', 'cookie', 'secret', 'apiKey'];
const SECRET_PATHS = [...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), 'headers["set-cookie"]', '*.headers["set-cookie"]'];
/** URLs may carry `user:password@`: logged with the password masked, the rest kept for diagnosis. */
const URL_PATHS = ['url', '*.url', 'mqttUrl', '*.mqttUrl', 'brokerUrl', '*.brokerUrl'];

/** Redaction applied by every logger of both programs. */
export const LOG_REDACT = {
  paths: [...SECRET_PATHS, ...URL_PATHS],
  censor: (value: unknown, path: string[]): unknown => {
    const key = path[path.length - 1] ?? '';
    if (/url$/i.test(key)) return typeof value === 'string' ? redactUrl(value) : value;
    return REDACTED;
  },
};

/** The URL without its password, for logs and display. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * A pino logger on stderr (or `destination`, for tests that read what was logged) with the
 * secret redaction every logger of mealcheck has.
 */
export function createLogger(name: string, level: string = process.env.MEALCHECK_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino({ name, level, base: { name }, redact: LOG_REDACT }, destination ?? pino.destination({ fd: 2, sync: true }));
}
