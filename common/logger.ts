/**
 * One logger factory for both programs. Logs go to stderr as JSON lines (pino), so stdout
 * stays free for command output (tables, `--json` results).
 * Never log descriptors or photos: biometric data stays on the edge and out of logs.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level: string = process.env.MEALCHECK_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name } }, pino.destination({ fd: 2, sync: true }));
}
