/**
 * Settings: each one has a command-line flag, an environment variable and a default, and is
 * documented where it is declared. `readSettings` validates everything at once and reports
 * every problem together, then returns a typed object.
 */
import { readFileSync } from 'node:fs';

export type SettingType = 'string' | 'int' | 'number' | 'boolean' | 'list';

export interface Setting {
  /** Flag without dashes, e.g. `http-port`. */
  flag: string;
  /** Environment variable, e.g. `MEALCHECK_HTTP_PORT`. */
  env: string;
  type: SettingType;
  /** Default when neither flag nor env is given; undefined means unset (or required). */
  default?: string | number | boolean | string[];
  required?: boolean;
  /** Allowed values for strings. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** One line for `--help` and the README. */
  doc: string;
}

export type SettingsSpec = Record<string, Setting>;

type ValueOf<S extends Setting> = S['type'] extends 'int' | 'number'
  ? number
  : S['type'] extends 'boolean'
    ? boolean
    : S['type'] extends 'list'
      ? string[]
      : string;

type HasDefault<S> = S extends { default: infer D } ? (undefined extends D ? false : true) : false;

export type SettingsOf<T extends SettingsSpec> = {
  [K in keyof T]: T[K] extends { required: true } ? ValueOf<T[K]> : HasDefault<T[K]> extends true ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

/**
 * What is wrong with a `--mqtt-ca` style setting: a PEM file of CA certificates that must be
 * readable and hold at least one certificate. Undefined when it is fine.
 */
export function pemFileProblem(flag: string, file: string): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    return `--${flag}: cannot read "${file}": ${(err as Error).message}`;
  }
  return pem.includes('-----BEGIN CERTIFICATE-----') ? undefined : `--${flag}: "${file}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid settings:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface ParsedArgs {
  flags: Map<string, string | true>;
  positional: string[];
}

/** Parses `--name value`, `--name=value` and bare `--flag`; everything else is positional. */
export function parseArgs(argv: readonly string[], booleanFlags: ReadonlySet<string> = new Set()): ParsedArgs {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags.set(a.slice(2, eq), a.slice(eq + 1));
    } else if (booleanFlags.has(a.slice(2))) {
      flags.set(a.slice(2), true);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) flags.set(a.slice(2), true);
      else {
        flags.set(a.slice(2), next);
        i++;
      }
    }
  }
  return { flags, positional };
}

export function readSettings<T extends SettingsSpec>(
  spec: T,
  args: ParsedArgs,
  env: NodeJS.ProcessEnv = process.env,
): SettingsOf<T> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const known = new Set(Object.values(spec).map((s) => s.flag));
  for (const f of args.flags.keys()) if (!known.has(f)) problems.push(`unknown option --${f}`);
  for (const [key, s] of Object.entries(spec)) {
    const fromFlag = args.flags.get(s.flag);
    const raw: string | true | undefined = fromFlag ?? (env[s.env] !== undefined && env[s.env] !== '' ? env[s.env] : undefined);
    const where = fromFlag !== undefined ? `--${s.flag}` : s.env;
    if (raw === undefined) {
      if (s.required) problems.push(`--${s.flag} (or ${s.env}) is required: ${s.doc}`);
      out[key] = s.default;
      continue;
    }
    const r = convert(s, raw);
    if (typeof r === 'object' && r !== null && 'problem' in r) problems.push(`${where}: ${r.problem}`);
    else out[key] = r;
  }
  if (problems.length) throw new ConfigError(problems);
  return out as SettingsOf<T>;
}

function convert(s: Setting, raw: string | true): unknown {
  if (s.type === 'boolean') {
    if (raw === true || raw === 'true' || raw === '1' || raw === 'yes') return true;
    if (raw === 'false' || raw === '0' || raw === 'no') return false;
    return { problem: `expected true or false, got "${raw}"` };
  }
  if (raw === true) return { problem: 'needs a value' };
  if (s.type === 'int' || s.type === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n) || (s.type === 'int' && !Number.isInteger(n))) return { problem: `expected ${s.type === 'int' ? 'an integer' : 'a number'}, got "${raw}"` };
    if (s.min !== undefined && n < s.min) return { problem: `must be at least ${s.min}, got ${n}` };
    if (s.max !== undefined && n > s.max) return { problem: `must be at most ${s.max}, got ${n}` };
    return n;
  }
  if (s.type === 'list') return raw.split(',').map((x) => x.trim()).filter(Boolean);
  if (s.choices && !s.choices.includes(raw)) return { problem: `must be one of ${s.choices.join(', ')}, got "${raw}"` };
  return raw;
}

/** Usage lines for `--help`, from the same spec that validates. */
export function describeSettings(spec: SettingsSpec): string {
  return Object.values(spec)
    .map((s) => {
      const def = s.default === undefined ? '' : ` (default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`;
      return `  --${s.flag.padEnd(20)} ${s.env.padEnd(30)} ${s.doc}${def}`;
    })
    .join('\n');
}
