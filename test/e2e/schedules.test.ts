import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fileStoreOnly, json, ok, readStoredSchedule, stateDigest, tempHome } from '../helpers.js';

const FIELDS = [
  'task_id',
  'task_name',
  'handler',
  'schedule_type',
  'schedule_expr',
  'priority',
  'enabled',
  'created_at',
  'last_executed',
  'next_execution',
  'execution_count',
  'failure_count',
  'average_duration_ms',
  'circuit_breaker',
  'retry_policy',
  'breaker_state',
];

describe('schedule verbs', () => {
  it('creates with the positional seed form and shows every contract field', async () => {
    const home = tempHome();
    const env = { CONDUCTOR_NOW: '2026-11-25T10:00:00Z', TZ: 'UTC' };
    await ok(home, ['create', 'backup-daily', 'Daily Backup', 'bash ops/backup.sh', 'cron', '0 2 * * *', '8'], env);
    const s = await json(home, ['get', 'backup-daily'], env);
    for (const f of FIELDS) expect(s).toHaveProperty(f);
    expect(s).toMatchObject({
      task_id: 'backup-daily',
      task_name: 'Daily Backup',
      handler: 'bash ops/backup.sh',
      schedule_type: 'cron',
      schedule_expr: '0 2 * * *',
      priority: 8,
      enabled: true,
      last_executed: null,
      execution_count: 0,
      failure_count: 0,
      retry_policy: 'none',
      breaker_state: 'closed',
      next_execution: '2026-11-26T02:00:00+00:00',
    });
    expect(s.created_at).toMatch(/^2026-11-25T10:00:0\d\+00:00$/);
    if (fileStoreOnly) {
      const stat = fs.statSync(path.join(home, 'schedules', 'backup-daily.json'));
      expect(stat.mode & 0o777).toBe(0o600);
    }
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    expect(readStoredSchedule(home, 'backup-daily').format).toBe(1);
  });

  it('creates with options, time zones and the other types', async () => {
    const home = tempHome();
    const env = { CONDUCTOR_NOW: '2026-03-07T12:00:00Z' };
    await ok(
      home,
      [
        'create',
        'ny',
        '--name',
        'NY',
        '--handler',
        'true',
        '--cron',
        '30 2 * * *',
        '--tz',
        'America/New_York',
        '--priority',
        '3',
      ],
      env,
    );
    expect((await json(home, ['get', 'ny'], env)).next_execution).toBe('2026-03-08T03:00:00-04:00');
    await ok(home, ['create', 'iv', 'Interval', 'true', 'interval', '5 minutes'], env);
    expect(
      Date.parse((await json(home, ['get', 'iv'], env)).next_execution) - Date.parse('2026-03-07T12:00:00Z'),
    ).toBeGreaterThanOrEqual(300_000);
    await ok(home, ['create', 'ev', 'Event', 'true', 'event', 'backup.*'], env);
    expect((await json(home, ['get', 'ev'], env)).next_execution).toBeNull();
    await ok(home, ['create', 'one', 'Once', 'true', 'once', '2026-12-24T18:00:00+01:00'], env);
    expect(Date.parse((await json(home, ['get', 'one'], env)).next_execution)).toBe(Date.parse('2026-12-24T17:00:00Z'));
    const list = await json<any[]>(home, ['list'], env);
    expect(list.map((s) => s.task_id)).toEqual(['ev', 'iv', 'ny', 'one']);
    const table = await ok(home, ['list'], env);
    expect(table).toMatch(/NEXT RUN/);
    expect(table).toContain('2026-03-08T03:00:00-04:00');
  });

  it('enable, disable and delete', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'cron', '*/5 * * * *']);
    await ok(home, ['disable', 'a']);
    let s = await json(home, ['get', 'a']);
    expect(s.enabled).toBe(false);
    expect(s.next_execution).toBeNull();
    await ok(home, ['enable', 'a']);
    s = await json(home, ['get', 'a']);
    expect(s.enabled).toBe(true);
    expect(s.next_execution).not.toBeNull();
    await ok(home, ['delete', 'a']);
    const r = await cli(home, ['get', 'a']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown task id 'a'/);
  });

  describe('bad input: one line on stderr, exit 2, nothing changed', () => {
    const cases: [string, string[], RegExp][] = [
      ['invalid cron field', ['create', 'x', 'X', 'true', 'cron', '61 * * * *'], /minute field '61'/],
      ['unknown type', ['create', 'x', 'X', 'true', 'weekly', 'monday'], /schedule type 'weekly'/],
      ['priority above 10', ['create', 'x', 'X', 'true', 'cron', '* * * * *', '11'], /priority '11'/],
      ['priority below 1', ['create', 'x', 'X', 'true', 'cron', '* * * * *', '0'], /priority '0'/],
      ['duplicate id', ['create', 'keep', 'X', 'true', 'cron', '* * * * *'], /already exists/],
      ['bad time zone', ['create', 'x', 'X', 'true', 'cron', '* * * * *', '--tz', 'Mars/Olympus'], /time zone 'Mars\/Olympus'/],
      ['bad id', ['create', '../evil', 'X', 'true', 'cron', '* * * * *'], /invalid task id/],
      ['bad interval', ['create', 'x', 'X', 'true', 'interval', 'often'], /interval 'often'/],
      ['bad once', ['create', 'x', 'X', 'true', 'once', 'tomorrow'], /once timestamp 'tomorrow'/],
      ['malformed payload', ['trigger', 'evt', '--payload', '{nope'], /--payload/],
      ['unknown id for queue', ['queue', 'nope'], /unknown task id 'nope'/],
      ['unknown id for enable', ['enable', 'nope'], /unknown task id 'nope'/],
      ['unknown id for delete', ['delete', 'nope'], /unknown task id 'nope'/],
      ['negative retries', ['create', 'x', 'X', 'true', 'cron', '* * * * *', '--retries', '-1'], /retries '-1'/],
      [
        'breaker threshold out of range',
        ['create', 'x', 'X', 'true', 'cron', '* * * * *', '--breaker-threshold', '0'],
        /breaker threshold '0'/,
      ],
      ['unknown option', ['list', '--frobnicate'], /unknown option/],
      ['unknown verb', ['frobnicate'], /unknown command/],
      ['estimate above the limit', ['create', 'x', 'X', 'true', 'cron', '* * * * *', '--cpu', '95'], /cpu estimate/],
      ['a cron that can never run', ['create', 'x', 'X', 'true', 'cron', '0 0 30 2 *'], /'0 0 30 2 \*': it can never run/],
      ['a cron on April 31', ['create', 'x', 'X', 'true', 'cron', '0 0 31 4 *'], /it can never run/],
    ];
    for (const [name, args, msg] of cases) {
      it(name, async () => {
        const home = tempHome();
        await ok(home, ['create', 'keep', 'Keep', 'true', 'cron', '*/5 * * * *']);
        const before = await stateDigest(home);
        const r = await cli(home, args);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(msg);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(await stateDigest(home)).toBe(before);
      });
    }
  });

  it.runIf(fileStoreOnly)('a corrupt or foreign file is quarantined and reported; the rest keep working', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'Good', 'true', 'cron', '*/5 * * * *']);
    await ok(home, ['create', 'bad', 'Bad', 'true', 'cron', '*/5 * * * *']);
    const file = path.join(home, 'schedules', 'bad.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 40));
    fs.writeFileSync(path.join(home, 'schedules', 'notes.txt'), 'hello');
    const r = await cli(home, ['list', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((s: any) => s.task_id)).toEqual(['good']);
    expect(r.stderr).toMatch(/schedules\/bad\.json: not valid JSON/);
    expect(r.stderr).toMatch(/notes\.txt/);
    expect(fs.existsSync(file)).toBe(false);
    expect(
      fs
        .readdirSync(path.join(home, 'quarantine'))
        .filter((n) => !n.endsWith('.why'))
        .sort(),
    ).toEqual(['schedules__bad.json', 'schedules__notes.txt']);
    const stats = await json(home, ['stats']);
    expect(stats.quarantined).toBe(2);
    expect(stats.schedules).toBe(1);
    await ok(home, ['queue', 'good']);
    expect((await json(home, ['process'])).succeeded).toBe(1);
  });

  it.runIf(fileStoreOnly)('a truncated queue entry is quarantined and does not stop the others', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    const id = (await ok(home, ['queue', 'a'])).trim();
    await ok(home, ['queue', 'a']);
    const file = fs.readdirSync(path.join(home, 'queue')).find((n) => n.startsWith(`${id}~`))!;
    fs.writeFileSync(path.join(home, 'queue', file), '{"format":1,"entry_id"');
    const out = await cli(home, ['process', '--json']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).succeeded).toBe(1);
    expect(out.stderr).toMatch(/(queue|running)\/.*not valid JSON/);
  });
});

describe('cron as cronie reads it, through the CLI', () => {
  it('next finds a Feb 29 that is a Sunday decades ahead', async () => {
    const home = tempHome();
    const args = ['next', '0 0 29 2 */7', '--tz', 'UTC', '--from', '2033-01-01T00:00:00Z', '--count', '2'];
    expect((await json(home, args)).runs).toEqual(['2060-02-29T00:00:00+00:00', '2088-02-29T00:00:00+00:00']);
  });

  it('create accepts sat-sun and repeated values', async () => {
    const home = tempHome();
    const env = { CONDUCTOR_NOW: '2026-01-01T00:00:00Z' };
    await ok(home, ['create', 'we', 'Weekend', 'true', 'cron', '0 0,0 * * sat-sun', '--tz', 'UTC'], env);
    expect((await json(home, ['get', 'we'], env)).next_execution).toBe('2026-01-03T00:00:00+00:00');
  });

  it('validate refuses a schedule that can never run, in one line', async () => {
    const home = tempHome();
    const file = path.join(path.dirname(home), 'never.yaml');
    fs.writeFileSync(file, '- task_id: never\n  handler: "true"\n  schedule_type: cron\n  schedule_expr: "0 0 31 4 *"\n');
    const r = await cli(home, ['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/never: invalid cron expression '0 0 31 4 \*': it can never run/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('next skips a day lost to a zone change (Pacific/Apia) without a catch-up run', async () => {
    const home = tempHome();
    const args = ['next', '30 12 * * *', '--tz', 'Pacific/Apia', '--from', '2011-12-29T23:00:00Z', '--count', '1'];
    expect((await json(home, args)).runs).toEqual(['2011-12-31T12:30:00+14:00']);
  });

  it('next keeps the seconds of a zone offset (Africa/Monrovia, 1970)', async () => {
    const home = tempHome();
    const args = ['next', '0 12 * * *', '--tz', 'Africa/Monrovia', '--from', '1970-06-01T00:00:00Z', '--count', '1'];
    const { runs } = await json(home, args);
    expect(Date.parse(runs[0])).toBe(Date.parse('1970-06-01T12:44:30Z'));
  });
});
