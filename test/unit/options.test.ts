/** A tool's options, as `parseOptions` reads them: what it accepts, what it refuses, its --help. */
import { describe, expect, it } from 'vitest';
import { commandHelp, ConfigError, parseArgs, parseOptions, readActionCommand, readSettings, type CommandSpec } from '../../common/config.ts';

const TOOL = {
  usage: 'tool --faces DIR [--centres N] [--rate R|max] [--json] PHOTO...',
  about: 'A tool for the tests.',
  options: {
    faces: { flag: 'faces', type: 'string', required: true, arg: 'DIR', doc: 'labelled folder' },
    centres: { flag: 'centres', type: 'int', default: 200, min: 1, doc: 'simulated centres' },
    minutes: { flag: 'minutes', type: 'number', default: 1, check: (v: number) => (v > 0 ? undefined : `must be more than 0, got ${v}`), doc: 'how long' },
    rate: { flag: 'rate', type: 'string', default: '1', arg: 'R|max', check: (v: string) => (v === 'max' || Number(v) > 0 ? undefined : `expected a positive number or "max", got "${v}"`), doc: 'check-ins per second' },
    model: { flag: 'model', type: 'string', default: 'face-api', choices: ['face-api', 'faceres'], doc: 'recognition model' },
    sizes: { flag: 'sizes', type: 'list', default: ['40', '60'], doc: 'face sizes' },
    data: { flag: 'data', env: 'MEALCHECK_DATA', type: 'string', default: undefined, doc: 'edge data folder' },
    json: { flag: 'json', type: 'boolean', default: false, doc: 'JSON last line' },
  },
  positional: { name: 'PHOTO', doc: 'a photo of the elder' },
} as const satisfies CommandSpec;

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const p = parseOptions(argv, TOOL, env);
  if (p.help !== undefined) throw new Error('unexpected --help');
  return p;
};

const problemsOf = (argv: string[], spec: CommandSpec = TOOL): string[] => {
  try {
    parseOptions(argv, spec, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('parseOptions', () => {
  it('returns typed values, defaults and positional arguments', () => {
    const p = parse(['--faces', 'f', 'a.jpg', '--centres=3', '--json', 'b.jpg', '--sizes', '40, 80', '--rate', 'max', '--', '-odd.jpg']);
    expect(p.options).toEqual({ faces: 'f', centres: 3, minutes: 1, rate: 'max', model: 'face-api', sizes: ['40', '80'], data: undefined, json: true });
    expect(p.positional).toEqual(['a.jpg', 'b.jpg', '-odd.jpg']);
    expect(parse(['--faces', 'f'], { MEALCHECK_DATA: '/d' }).options.data).toBe('/d');
    expect(parse(['--faces', 'f', '--data', '/flag'], { MEALCHECK_DATA: '/env' }).options.data).toBe('/flag');
  });

  it.each([
    { argv: ['--faces', 'f', '--bogus', '1'], problems: ['unknown option --bogus'] },
    { argv: ['--faces', 'f', '--bogus'], problems: ['unknown option --bogus'] },
    { argv: ['--faces', 'f', '--bogus=1', '--jsno'], problems: ['unknown option --bogus', 'unknown option --jsno'] },
    { argv: ['--faces', 'f', '-x', 'a.jpg'], problems: ['unknown option -x'] },
    { argv: ['--faces', 'f', '--json=1'], problems: ['--json takes no value, got "1"'] },
    { argv: ['--faces', 'f', '--centres'], problems: ['--centres: needs a value'] },
    { argv: ['--faces', 'f', '--centres', '--json'], problems: ['--centres: needs a value'] },
    { argv: ['--faces', 'f', '--centres', 'many'], problems: ['--centres: expected an integer, got "many"'] },
    { argv: ['--faces', 'f', '--centres', '2.5'], problems: ['--centres: expected an integer, got "2.5"'] },
    { argv: ['--faces', 'f', '--centres', '0'], problems: ['--centres: must be at least 1, got 0'] },
    { argv: ['--faces', 'f', '--minutes', 'soon'], problems: ['--minutes: expected a number, got "soon"'] },
    { argv: ['--faces', 'f', '--minutes', '0'], problems: ['--minutes: must be more than 0, got 0'] },
    { argv: ['--faces', 'f', '--rate', 'fast'], problems: ['--rate: expected a positive number or "max", got "fast"'] },
    { argv: ['--faces', 'f', '--model', 'insightface'], problems: ['--model: must be one of face-api, faceres, got "insightface"'] },
    { argv: [], problems: ['--faces is required: labelled folder'] },
    // Every problem at once.
    { argv: ['--bogus', '1', '--centres', 'x', '--json=yes'], problems: ['unknown option --bogus', '--json takes no value, got "yes"', '--faces is required: labelled folder', '--centres: expected an integer, got "x"'] },
  ])('refuses $argv', ({ argv, problems }) => {
    expect(problemsOf(argv)).toEqual(problems);
  });

  it('refuses positional arguments a command does not take, and counts those it does', () => {
    const none: CommandSpec = { usage: 'none [--json]', options: { json: { flag: 'json', type: 'boolean', default: false, doc: 'JSON' } } };
    expect(problemsOf(['stray'], none)).toEqual(['unexpected argument "stray"']);
    // A boolean flag takes no value: the word after it is an argument.
    expect(problemsOf(['--json', '1'], none)).toEqual(['unexpected argument "1"']);
    const one: CommandSpec = { usage: 'one ACTION', options: {}, positional: { name: 'ACTION', doc: 'add or remove', min: 1, max: 1 } };
    expect(problemsOf([], one)).toEqual(['ACTION is required: add or remove']);
    expect(problemsOf(['add', 'more'], one)).toEqual(['unexpected argument "more"']);
    expect(problemsOf(['--faces', 'f'], { ...TOOL, positional: { name: 'PHOTO', doc: 'photos', min: 2 } })).toEqual(['at least 2 PHOTO are required: photos']);
  });

  it('hands declared forwarded settings on as words and refuses the rest', () => {
    const spec: CommandSpec = {
      usage: 'bench',
      options: { json: { flag: 'json', type: 'boolean', default: false, doc: 'JSON' } },
      forward: { doc: 'edge settings', settings: { detector: { flag: 'detector', env: 'MEALCHECK_DETECTOR', type: 'string', doc: 'detector' }, gate: { flag: 'motion-gate', env: 'MEALCHECK_MOTION_GATE', type: 'boolean', doc: 'gate' } } },
    };
    const p = parseOptions(['--detector', 'ssdMobilenetv1', '--json', '--motion-gate', 'false'], spec, {});
    expect(p.help).toBeUndefined();
    if (p.help === undefined) expect(p.forwarded).toEqual(['--detector=ssdMobilenetv1', '--motion-gate=false']);
    expect(problemsOf(['--detector', 'x', '--bogus', '1'], spec)).toEqual(['unknown option --bogus']);
  });

  it('writes --help from the declaration, before reading anything else', () => {
    for (const argv of [['--help'], ['-h'], ['--bogus', '1', '--help']]) {
      const p = parseOptions(argv, TOOL, {});
      expect(p.help).toBeDefined();
      const help = p.help!;
      expect(help.split('\n')[0]).toBe(TOOL.usage);
      expect(help).toContain('A tool for the tests.');
      expect(help).toMatch(/--faces DIR\s+labelled folder \(required\)/);
      expect(help).toMatch(/--centres N\s+simulated centres \(default: 200\)/);
      expect(help).toMatch(/--model face-api\|faceres\s+recognition model \(default: face-api\)/);
      expect(help).toMatch(/--data VALUE\s+edge data folder \(env MEALCHECK_DATA\)/);
      expect(help).toMatch(/--json\s+JSON last line\n/);
      expect(help).toMatch(/PHOTO\.\.\.\s+a photo of the elder/);
    }
  });
});

describe('readSettings', () => {
  it('refuses positional words and single-dash options as well as unknown flags', () => {
    const spec = { port: { flag: 'http-port', env: 'P', type: 'int', default: 1, doc: 'port' } } as const;
    expect(() => readSettings(spec, parseArgs(['junk', '-x', '--bogus', '1']), {})).toThrow(ConfigError);
    try {
      readSettings(spec, parseArgs(['junk', '-x', '--bogus', '1']), {});
    } catch (err) {
      expect((err as ConfigError).problems).toEqual(['unknown option --bogus', 'unexpected argument "junk"', 'unknown option -x']);
    }
  });
});

describe('readActionCommand', () => {
  const CMD = {
    usage: 'thing add|list [--data DIR]',
    options: { data: { flag: 'data', type: 'string', default: './d', arg: 'DIR', doc: 'folder' } },
    positional: { name: 'ACTION', doc: 'add or list', min: 1, max: 1 },
  } as const satisfies CommandSpec;
  const read = (argv: string[]) => {
    const printed: string[] = [];
    return { result: readActionCommand(argv, CMD, ['add', 'list'] as const, (s) => printed.push(s)), printed };
  };

  it('prints the usage for a bare command (exit 2) and the help for --help (exit 0)', () => {
    expect(read([])).toEqual({ result: 2, printed: [commandHelp(CMD)] });
    expect(read(['add', '--help'])).toEqual({ result: 0, printed: [commandHelp(CMD)] });
  });

  it('returns the action and the options', () => {
    expect(read(['list', '--data', 'x']).result).toEqual({ action: 'list', options: { data: 'x' } });
  });

  it.each([
    [['remove'], 'unknown action "remove" (add or list)'],
    [['add', '--bogus'], 'unknown option --bogus'],
    [['--data', 'x'], 'ACTION is required: add or list'],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => read(argv)).toThrow(ConfigError);
    expect(() => read(argv)).toThrow(message);
  });
});
