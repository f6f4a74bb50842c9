import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ok, stateDigest, tempHome } from '../helpers.js';

/**
 * The CLI as a hostile script would call it: generated verbs, arguments and
 * environments. Whatever comes in, the exit code is 0, 1 or 2, stderr never
 * carries a stack trace (and a failure says why there), no control
 * character reaches stdout from a name or value, and a command refused as bad
 * input (2) leaves the home exactly as it was.
 */

const RUNS = Number(process.env.CONDUCTOR_PROPERTY_RUNS) || 60;

const nasty = fc.constantFrom(
  '',
  ' ',
  '-',
  '--',
  '-x',
  '--nope',
  '0',
  '-1',
  '1e309',
  'NaN',
  '99999999999',
  '3.5',
  '10',
  '11',
  'a',
  's1',
  'ev',
  'ev.*',
  '__proto__',
  'constructor',
  '../x',
  '/etc/passwd',
  'a/b',
  'a\nb',
  'a\u001b[31mb',
  '\u202e',
  'é',
  '💥',
  'x'.repeat(300),
  '30d',
  '99999999999d',
  '1ms',
  '0s',
  '5 minutes',
  '*/5 * * * *',
  '61 * * * *',
  '@daily',
  'TZ/Nowhere',
  'Europe/Berlin',
  '0050-06-01T00:00:00',
  '2026-02-30T00:00:00Z',
  '2026-12-24T18:00:00+01:00',
  '10000-01-01T00:00:00Z',
  '{"a":1}',
  '{',
  'null',
  '[]',
);
const word = fc.oneof(nasty, fc.string({ maxLength: 12 }), fc.integer({ min: -5, max: 12 }).map(String));
const ids = fc.constantFrom('s1', 's2', 'ev1', 'nope', 'x.y', '-s1');

/** Each verb with arguments and options that fit it, mixed with words that do not. */
const command: fc.Arbitrary<string[]> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('list', 'status', 'stats', 'health', 'events', 'history'),
      fc.array(fc.oneof(fc.constantFrom('--json', '--limit', '--max-age', '--format', 'prometheus', '--no-color'), word), {
        maxLength: 3,
      }),
    )
    .map(([v, a]) => [v, ...a]),
  fc
    .tuple(
      fc.constantFrom('get', 'enable', 'disable', 'delete', 'queue', 'cancel', 'logs', 'history'),
      fc.oneof(ids, word),
      fc.array(fc.oneof(fc.constantFrom('--json', '--priority', '--payload', '--with-deps'), word), { maxLength: 3 }),
    )
    .map(([v, id, a]) => [v, id, ...a]),
  fc.tuple(ids, fc.integer({ min: 1, max: 5 }).map(String)).map(([id, n]) => ['queue', id, '--count', n]),
  fc
    .tuple(
      fc.oneof(ids, word),
      word,
      word,
      fc.constantFrom('cron', 'interval', 'event', 'once', 'weekly'),
      word,
      fc.array(
        fc.oneof(
          fc.constantFrom('--timeout', '--tz', '--retries', '--cwd', '--env', '--depends-on', '--overlap', '--cpu', '--priority'),
          word,
        ),
        { maxLength: 4 },
      ),
    )
    .map(([id, name, handler, type, expr, a]) => ['create', id, name, handler, type, expr, ...a]),
  fc
    .tuple(
      fc.oneof(fc.constantFrom('ev', 'task.completed', 'a.b.c'), word),
      fc.array(fc.oneof(fc.constantFrom('--payload', '--json'), word), { maxLength: 2 }),
    )
    .map(([e, a]) => ['trigger', e, ...a]),
  fc
    .tuple(word, fc.array(fc.oneof(fc.constantFrom('--tz', '--from', '--count', '--json'), word), { maxLength: 4 }))
    .map(([e, a]) => ['next', e, ...a]),
  fc
    .tuple(
      fc.constantFrom('dlq', 'pause', 'resume', 'migrate'),
      fc.array(fc.oneof(fc.constantFrom('list', 'retry', 'purge', '--json'), word), { maxLength: 2 }),
    )
    .map(([v, a]) => [v, ...a]),
  fc
    .tuple(
      fc.constantFrom('apply', 'validate', 'import'),
      fc.constantFrom('@file', '/nonexistent', ''),
      fc.array(fc.constantFrom('--dry-run', '--prune', '--json'), { maxLength: 2 }),
    )
    .map(([v, f, a]) => [v, f, ...a]),
  fc
    .tuple(
      fc.array(fc.constantFrom('--max-concurrent', '--max-cpu', '--grace', '--starvation-threshold', '--json'), { maxLength: 2 }),
      fc.array(word, { maxLength: 2 }),
    )
    .map(([o, a]) => ['process', ...o.flatMap((x) => (x === '--json' ? [x] : [x, '2'])), ...a]),
  fc.array(word, { minLength: 1, maxLength: 3 }),
);

/** What a schedules or export file given to apply/validate/import holds. */
const fileText = fc.oneof(
  fc.constantFrom(
    '',
    'nope: [',
    '- {task_id: n1, handler: "true", schedule_type: event, schedule_expr: e}\n',
    '- {task_id: n2, handler: "true", schedule_type: cron, schedule_expr: "61 * * * *"}\n',
    '- {task_id: n3, handler: "true", schedule_type: event, schedule_expr: e, env: {__proto__: x}}\n',
    '{"format": 1, "schedules": [], "queue": [{"entry_id": "q", "priority": 100}]}',
    '- {task_id: s1, handler: "true", schedule_type: event, schedule_expr: e}\n',
  ),
  fc.string({ maxLength: 80 }),
);

const environment = fc.record(
  {
    CONDUCTOR_NOW: fc.constantFrom('0', '2026-02-30T00:00:00Z', 'garbage', '2030-01-01T00:00:00Z', '1969-12-31T23:59:59Z'),
    CONDUCTOR_EVENT_DEPTH: fc.constantFrom('-1', '3', 'x', '99'),
    TERM: fc.constantFrom('dumb', 'xterm'),
    CONDUCTOR_LOG_CAP: fc.constantFrom('0', '-5', '10'),
  },
  { requiredKeys: [] },
);

async function seed(home: string): Promise<void> {
  await ok(home, ['create', 's1', 'S1', 'true', 'event', 'never', '--retries', '1']);
  await ok(home, ['create', 's2', 'S2', 'exit 3', 'interval', '1h', '--depends-on', 's1']);
  await ok(home, ['create', 'ev1', 'E', 'echo hi', 'event', 'ev']);
  await ok(home, ['queue', 's1']);
  await ok(home, ['trigger', 'ev']);
  await ok(home, ['process']);
  await ok(home, ['queue', 's1']);
}

describe('the CLI under generated input', () => {
  it(`${RUNS} generated commands: exit 0, 1 or 2 only; no stack trace; bad input changes nothing`, async () => {
    const home = tempHome();
    await seed(home);
    const file = path.join(path.dirname(home), 'input.yaml');
    await fc.assert(
      fc.asyncProperty(command, fileText, environment, async (args, text, env) => {
        fs.writeFileSync(file, text);
        // An argument cannot hold a NUL byte: exec(2) takes C strings.
        const argv = args.map((a) => (a === '@file' ? file : a.replace(/\0/g, '')));
        const before = await stateDigest(home);
        const r = await cli(home, argv, env as Record<string, string>);
        const what = `conductor ${JSON.stringify(argv)} with ${JSON.stringify(env)}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 400))}`;
        expect([0, 1, 2], what).toContain(r.code);
        expect(r.stderr, what).not.toMatch(/\n\s+at .+[(:]\d+/);
        expect(r.stderr, what).not.toMatch(/(TypeError|RangeError|ReferenceError|SyntaxError)\b/);
        // (`health` answers "unhealthy" with exit 1 and its findings on stdout.)
        if (r.code !== 0 && argv[0] !== 'health') expect(r.stderr.trim(), what).not.toBe('');
        // Names and values are the user's: printed, they cannot carry terminal escapes or forge lines.
        // (`logs` prints captured output byte for byte, as asked.)
        if (argv[0] !== 'logs') expect(r.stdout.replace(/[\n\t]/g, ''), what).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
        if (r.code === 2) expect(await stateDigest(home), what).toBe(before);
      }),
      { numRuns: RUNS, seed: Number(process.env.CONDUCTOR_PROPERTY_SEED) || undefined, endOnFailure: true },
    );
  }, 600_000);
});
