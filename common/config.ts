/**
 * Settings: each one has a command-line flag, an environment variable and a default, and is
 * documented where it is declared. `readSettings` validates everything at once and reports
 * every problem together, then returns a typed object.
 *
 * A tool's options (`npm run soak`, `mealcheck enrol`, ...) are the same declarations, most
 * without an environment variable, read by `parseOptions`, which also takes the positional
 * arguments and writes `--help` from the declaration. Whatever is not declared is refused.
 */
import { readFileSync } from 'node:fs';

export type SettingType = 'string' | 'int' | 'number' | 'boolean' | 'list';

export interface Setting {
  /** Flag without dashes, e.g. `http-port`. */
  flag: string;
  /** Environment variable, e.g. `MEALCHECK_HTTP_PORT`; a tool's option usually has none. */
  env?: string;
  type: SettingType;
  /** Default when neither flag nor env is given; undefined means unset (or required). */
  default?: string | number | boolean | string[];
  required?: boolean;
  /** Allowed values for strings. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /**
   * A further check of a given value (after conversion to the setting's type): what is wrong
   * with it, or undefined when it is fine. Reported with the other problems.
   */
  check?: (value: never) => string | undefined;
  /** The value's name in `--help` (`DIR`, `N`); by default from the type or the choices. */
  arg?: string;
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
      : S extends { choices: readonly (infer C)[] }
        ? C
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
  const known = new Set(Object.values(spec).map((s) => s.flag));
  for (const f of args.flags.keys()) if (!known.has(f)) problems.push(`unknown option --${f}`);
  problems.push(...args.positional.map(unexpectedArgument));
  const out = convertAll(spec, args.flags, env, problems);
  if (problems.length) throw new ConfigError(problems);
  return out;
}

/** A word on the command line that nothing declared: a misspelt option (`-x`) or stray text. */
function unexpectedArgument(a: string): string {
  return a.startsWith('-') && a.length > 1 ? `unknown option ${a}` : `unexpected argument "${a}"`;
}

/** Every setting of `spec` from its flag, its environment variable or its default; problems are pushed. */
function convertAll<T extends SettingsSpec>(spec: T, flags: ReadonlyMap<string, string | true>, env: NodeJS.ProcessEnv, problems: string[]): SettingsOf<T> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(spec)) {
    const fromFlag = flags.get(s.flag);
    const fromEnv = s.env !== undefined && env[s.env] !== undefined && env[s.env] !== '' ? env[s.env] : undefined;
    const raw: string | true | undefined = fromFlag ?? fromEnv;
    const where = fromFlag !== undefined || s.env === undefined ? `--${s.flag}` : s.env;
    if (raw === undefined) {
      if (s.required) problems.push(`--${s.flag}${s.env ? ` (or ${s.env})` : ''} is required: ${s.doc}`);
      out[key] = s.default;
      continue;
    }
    const r = convert(s, raw);
    const problem = typeof r === 'object' && r !== null && 'problem' in r ? (r.problem as string) : s.check?.(r as never);
    if (problem !== undefined) problems.push(`${where}: ${problem}`);
    else out[key] = r;
  }
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
      return `  --${s.flag.padEnd(20)} ${(s.env ?? '').padEnd(30)} ${s.doc}${def}`;
    })
    .join('\n');
}

/** A `check` for a number that must be more than 0 (a duration, a rate), where `min: 0` would let 0 in. */
export function aboveZero(v: number): string | undefined {
  return v > 0 ? undefined : `must be more than 0, got ${v}`;
}

/** What a tool accepts and how its `--help` reads: one declaration for both. */
export interface CommandSpec<T extends SettingsSpec = SettingsSpec> {
  /** The usage line(s), e.g. `npm run soak -- [--centres N] [--json]`; first in `--help`. */
  usage: string;
  /** What the command does, under the usage in `--help`. */
  about?: string;
  /** The options, keyed by the name the values are returned under. */
  options: T;
  /** Positional arguments (e.g. `PHOTO...`); without this, any is refused. */
  positional?: { name: string; doc: string; min?: number; max?: number };
  /**
   * Settings another reader validates (bench hands the edge's to `loadEdgeConfig`): accepted,
   * not converted, and returned in `forwarded` as `--flag=value` words for that reader.
   */
  forward?: { settings: SettingsSpec; doc: string };
}

export type ParsedOptions<T extends SettingsSpec> =
  /** `--help` or `-h` was given: print this and stop. */
  | { help: string }
  | {
      help?: undefined;
      options: SettingsOf<T>;
      positional: string[];
      /** The `forward` settings given, as command-line words. */
      forwarded: string[];
    };

/**
 * Reads a tool's command line against its declaration. Throws one ConfigError naming every
 * problem: an option not declared ("unknown option --bogus"), a missing or malformed value, a
 * value given to a boolean flag (`--json=1`; booleans are bare flags), a positional argument
 * not declared. `--` ends the options; later words are positional even when they start with `-`.
 *
 *   const p = parseOptions(argv, SOAK);
 *   if (p.help !== undefined) { console.log(p.help); return 0; }
 *   p.options.centres // number
 */
export function parseOptions<T extends SettingsSpec>(argv: readonly string[], command: CommandSpec<T>, env: NodeJS.ProcessEnv = process.env): ParsedOptions<T> {
  const end = argv.indexOf('--');
  const before = end < 0 ? argv : argv.slice(0, end);
  const own = Object.values(command.options);
  const booleans = new Set(own.filter((o) => o.type === 'boolean').map((o) => o.flag));
  const args = parseArgs(before, new Set([...booleans, 'help']));
  if (args.flags.has('help') || args.positional.includes('-h')) return { help: commandHelp(command) };

  const problems: string[] = [];
  const ownFlags = new Set(own.map((o) => o.flag));
  const forwardFlags = new Set(Object.values(command.forward?.settings ?? {}).map((s) => s.flag));
  const flags = new Map<string, string | true>();
  const forwarded: string[] = [];
  for (const [f, v] of args.flags) {
    if (ownFlags.has(f)) {
      if (booleans.has(f) && v !== true) problems.push(`--${f} takes no value, got "${v}"`);
      else flags.set(f, v);
    } else if (forwardFlags.has(f)) forwarded.push(v === true ? `--${f}` : `--${f}=${v}`);
    else problems.push(`unknown option --${f}`);
  }
  // A word before `--` that looks like an option is a misspelt one, never a file name.
  for (const a of args.positional) if (a.startsWith('-') && a.length > 1) problems.push(`unknown option ${a}`);
  const positional = [...args.positional.filter((a) => !(a.startsWith('-') && a.length > 1)), ...(end < 0 ? [] : argv.slice(end + 1))];
  const pos = command.positional;
  if (!pos) problems.push(...positional.map(unexpectedArgument));
  else {
    const min = pos.min ?? 0;
    if (positional.length < min) problems.push(min === 1 ? `${pos.name} is required: ${pos.doc}` : `at least ${min} ${pos.name} are required: ${pos.doc}`);
    if (pos.max !== undefined && positional.length > pos.max) problems.push(...positional.slice(pos.max).map(unexpectedArgument));
  }
  const options = convertAll(command.options, flags, env, problems);
  if (problems.length) throw new ConfigError(problems);
  return { options, positional, forwarded };
}

/**
 * For a command whose first word is an action (`device add|remove|list`, `month close|list`),
 * run as a function that prints through `out`: the parsed command line and its action, or the
 * exit code once it has printed what was asked (the usage for a bare command: 2; `--help`: 0).
 * An action not in `actions` is refused like any other bad word (ConfigError).
 */
export function readActionCommand<T extends SettingsSpec, A extends string>(
  argv: readonly string[],
  command: CommandSpec<T>,
  actions: readonly A[],
  out: (s: string) => void,
): number | { options: SettingsOf<T>; action: A } {
  if (argv.length === 0) {
    out(commandHelp(command));
    return 2;
  }
  const p = parseOptions(argv, command);
  if (p.help !== undefined) {
    out(p.help);
    return 0;
  }
  const action = p.positional[0]!;
  if (!(actions as readonly string[]).includes(action)) {
    const list = actions.length > 1 ? `${actions.slice(0, -1).join(', ')} or ${actions.at(-1)}` : actions.join('');
    throw new ConfigError([`unknown action "${action}" (${list})`]);
  }
  return { options: p.options, action: action as A };
}

function valueName(o: Setting): string {
  if (o.arg) return o.arg;
  if (o.choices) return o.choices.join('|');
  return { int: 'N', number: 'X', list: 'A,B,...', string: 'VALUE', boolean: '' }[o.type];
}

/** The `--help` text of a command, from its declaration. */
export function commandHelp(command: CommandSpec): string {
  const rows: Array<[string, string]> = [];
  const pos = command.positional;
  if (pos) rows.push([`${pos.name}${pos.max === 1 ? '' : '...'}`, pos.doc]);
  for (const o of Object.values(command.options)) {
    const notes = [
      o.required ? 'required' : o.default === undefined || o.type === 'boolean' ? '' : `default: ${Array.isArray(o.default) ? o.default.join(',') : String(o.default)}`,
      o.env ? `env ${o.env}` : '',
    ].filter(Boolean);
    rows.push([`--${o.flag}${o.type === 'boolean' ? '' : ` ${valueName(o)}`}`, `${o.doc}${notes.length ? ` (${notes.join('; ')})` : ''}`]);
  }
  const width = Math.min(26, Math.max(0, ...rows.map(([l]) => l.length)));
  const lines = [command.usage];
  if (command.about) lines.push('', command.about);
  const indent = ' '.repeat(width + 4);
  for (const [i, [l, r]] of rows.entries()) {
    if (i === 0) lines.push('');
    // Docs wrap at 100 columns, under their own column; a long flag gets a line of its own.
    const doc = wrap(r.split(' '), Math.max(40, 100 - indent.length));
    if (l.length > width) lines.push(`  ${l}`, ...doc.map((d) => indent + d));
    else lines.push(`  ${l.padEnd(width)}  ${doc[0] ?? ''}`, ...doc.slice(1).map((d) => indent + d));
  }
  if (command.forward) lines.push('', command.forward.doc, ...wrap(Object.values(command.forward.settings).map((s) => `--${s.flag}`), 96).map((l) => `  ${l}`));
  lines.push('', `  ${'--help'.padEnd(width)}  this text`);
  return lines.join('\n');
}

function wrap(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Runs a script's main and exits with its code: 2 on a ConfigError, its problems on stderr and
 * no stack trace; 1 on any other error, its message (the stack too with MEALCHECK_DEBUG=1).
 * The exit is forced: a tool is done when main resolves, whatever timers or sockets linger.
 */
export function runTool(name: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      if (!(err instanceof ConfigError) && process.env.MEALCHECK_DEBUG) console.error(err);
      process.exit(err instanceof ConfigError ? 2 : 1);
    },
  );
}
