import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deadLetterProblem, entryProblem, pendingProblem, scheduleProblem } from '../../src/store/check.js';
import { parseQueueName } from '../../src/store/file/queue-names.js';
import {
  cli,
  editStoredSchedule,
  fileStoreOnly,
  json,
  ok,
  readLines,
  readStoredSchedule,
  sqlOn,
  STORE,
  stateDigest,
  tempHome,
  workDir,
} from '../helpers.js';

/**
 * Issue #11 item 7: a bad record never stops the home. Every record is
 * checked when it is read, by the checks create, apply and import use; what
 * fails is quarantined with its reason, reported once, and the rest runs.
 */

const T0 = { CONDUCTOR_NOW: '2026-11-25T10:01:00Z' };
const DUE = { CONDUCTOR_NOW: '2026-11-25T10:06:00Z' };

/** What the quarantine holds, as "<where it came from>: <reason>" lines, for either store. */
function quarantined(home: string): string[] {
  if (STORE === 'file') {
    const dir = path.join(home, 'quarantine');
    return fs
      .readdirSync(dir)
      .filter((n) => !n.endsWith('.why'))
      .sort()
      .map((n) => `${n}: ${fs.readFileSync(path.join(dir, `${n}.why`), 'utf8').trim()}`);
  }
  return sqlOn(home, `SELECT source || ': ' || reason FROM conductor.quarantine ORDER BY id`).split('\n').filter(Boolean);
}

/** One warning line on stderr naming the record, and no stack trace. */
function expectOneWarning(stderr: string, record: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^conductor: warning: /);
  expect(lines[0]).toMatch(record);
  expect(stderr).not.toMatch(/\n\s+at |TypeError|node:/);
}

async function twoSchedules(home: string): Promise<string> {
  const log = path.join(workDir(home), 'ran.txt');
  for (const id of ['bad', 'good']) {
    await ok(home, ['create', id, id, `echo $CONDUCTOR_TASK_ID >> ${log}`, 'cron', '*/5 * * * *', '--tz', 'UTC'], T0);
  }
  return log;
}

describe('a bad stored schedule is quarantined; the others run', () => {
  const cases: [string, (s: any) => void, RegExp][] = [
    ['schedule_expr', (s) => (s.schedule_expr = '61 * * * *'), /cron minute field '61'/],
    ['tz', (s) => (s.tz = 'Mars/Olympus'), /time zone 'Mars\/Olympus'/],
    ['timeout', (s) => (s.timeout = 'forever'), /timeout 'forever'/],
    ['cwd', (s) => (s.cwd = 5), /cwd/],
    ['depends_on', (s) => (s.depends_on = ['no/such']), /depends_on id 'no\/such'/],
    ['pending', (s) => (s.pending = 'garbage'), /pending/],
    ['priority', (s) => (s.priority = -3), /priority '-3'/],
    ['next_execution', (s) => (s.next_execution = 'soon'), /next_execution/],
  ];
  for (const [field, edit, reason] of cases) {
    it(`${field}`, async () => {
      const home = tempHome();
      const log = await twoSchedules(home);
      editStoredSchedule(home, 'bad', edit);
      const r = await cli(home, ['process', '--json'], DUE);
      expect(r.code, r.stderr).toBe(0);
      expect(readLines(log)).toEqual(['good']);
      expectOneWarning(r.stderr, /schedules\/bad/);
      expect(r.stderr).toMatch(reason);
      const q = quarantined(home);
      expect(q).toHaveLength(1);
      expect(q[0]).toMatch(/^schedules(__|\/)bad(\.json)?: /);
      expect(q[0]).toMatch(reason);
      // Once set aside it is gone from every view, and nothing more is reported.
      const list = await cli(home, ['list', '--json'], DUE);
      expect(JSON.parse(list.stdout).map((s: any) => s.task_id)).toEqual(['good']);
      expect(list.stderr).toBe('');
    });
  }

  it('stored-only fields: counters, once_fired, created_at', async () => {
    for (const [edit, reason] of [
      [(s: any) => (s.execution_count = -1), /execution_count/],
      [(s: any) => (s.once_fired = 'yes'), /once_fired/],
      [(s: any) => (s.created_at = 'yesterday'), /created_at/],
    ] as const) {
      const home = tempHome();
      const log = await twoSchedules(home);
      editStoredSchedule(home, 'bad', edit);
      const r = await cli(home, ['process'], DUE);
      expect(r.code, r.stderr).toBe(0);
      expect(readLines(log)).toEqual(['good']);
      expectOneWarning(r.stderr, reason);
      expect(quarantined(home)[0]).toMatch(reason);
    }
  });

  it('a schedule whose upstream was set aside is not queued, and says why; the others run', async () => {
    const home = tempHome();
    const log = await twoSchedules(home);
    await ok(home, ['create', 'up', 'Up', `echo up >> ${log}`, 'event', 'never'], T0);
    await ok(
      home,
      ['create', 'root', 'Root', `echo root >> ${log}`, 'cron', '*/5 * * * *', '--tz', 'UTC', '--depends-on', 'up'],
      T0,
    );
    editStoredSchedule(home, 'up', (s) => (s.cwd = 5));
    const r = await cli(home, ['process'], DUE);
    expect(r.code, r.stderr).toBe(0);
    expect(readLines(log).sort()).toEqual(['bad', 'good']);
    expectOneWarning(r.stderr, /schedules\/up.*cwd/);
    expect(r.stdout).toMatch(/root: .*unknown task id 'up'/);
    expect(quarantined(home)).toHaveLength(1);
  });

  it('trigger sets a bad listener aside and queues the others', async () => {
    const home = tempHome();
    await ok(home, ['create', 'l1', 'L1', 'true', 'event', 'go']);
    await ok(home, ['create', 'l2', 'L2', 'true', 'event', 'go']);
    editStoredSchedule(home, 'l1', (s) => (s.cwd = 5));
    const r = await cli(home, ['trigger', 'go', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).queued).toHaveLength(1);
    expectOneWarning(r.stderr, /schedules\/l1.*cwd/);
    expect((await json<any[]>(home, ['status'])).map((e) => e.task_id)).toEqual(['l2']);
  });

  it('queue names the bad schedule and refuses it', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'go']);
    editStoredSchedule(home, 'a', (s) => (s.priority = 100));
    const r = await cli(home, ['queue', 'a']);
    // Issue #12 item 3: not an unknown id but an unusable record (exit 1), said in one line.
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^conductor: schedule a was set aside: .*priority '100'.* \(quarantine\/[^)]+\)$/);
  });
});

/** A queue entry as conductor writes it, for hand placing. */
function entry(over: Record<string, unknown> = {}): any {
  const id = `${Date.now().toString(36).padStart(9, '0')}000-${randomBytes(5).toString('hex')}`;
  return {
    format: 1,
    entry_id: id,
    task_id: 'good',
    priority: 5,
    enqueued_at: new Date().toISOString(),
    estimated_cpu_percent: 0,
    estimated_memory_percent: 0,
    status: 'queued',
    attempt: 1,
    max_attempts: 1,
    runs: 0,
    not_before: null,
    source: 'manual',
    scheduled_for: null,
    event: null,
    payload: null,
    event_depth: 0,
    group: null,
    after: [],
    ...over,
  };
}

/** Places an entry behind conductor's back under a name in conductor's form (p5, attempt 1, manual). */
function placeEntry(home: string, e: any): void {
  const name = `${e.entry_id}~p5~a1~m~n0~${e.task_id}.json`;
  if (STORE === 'file') fs.writeFileSync(path.join(home, 'queue', name), JSON.stringify(e));
  else
    sqlOn(
      home,
      `INSERT INTO conductor.queue (entry_id, task_id, body, priority, attempt, enqueued_at, source, from_schedule, grouped) VALUES ('${e.entry_id}', '${e.task_id}', '${JSON.stringify(e)}', 5, 1, now(), 'manual', false, false)`,
    );
}

describe('a bad queue entry is quarantined; the others run', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['priority -3', { priority: -3 }, /priority/],
    ['priority 100', { priority: 100 }, /priority/],
    ['not_before garbage', { not_before: 'garbage' }, /not_before/],
    ['after', { after: ['../x'] }, /after/],
    ['payload', { payload: { a: 1 } }, /payload/],
  ];
  for (const [what, over, reason] of cases) {
    it(`${what} (name in form, body bad)`, async () => {
      const home = tempHome();
      const log = path.join(workDir(home), 'ran.txt');
      await ok(home, ['create', 'good', 'Good', `echo $CONDUCTOR_ENTRY_ID >> ${log}`, 'event', 'never']);
      const goodId = (await ok(home, ['queue', 'good'])).trim();
      placeEntry(home, entry(over));
      const r = await cli(home, ['process', '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(readLines(log)).toEqual([goodId]);
      expectOneWarning(r.stderr, reason);
      expect(quarantined(home)).toHaveLength(1);
      expect(quarantined(home)[0]).toMatch(reason);
      expect(await json(home, ['status'])).toEqual([]);
    });

    it.runIf(fileStoreOnly)(`${what} (placed by hand under another name)`, async () => {
      const home = tempHome();
      const log = path.join(workDir(home), 'ran.txt');
      await ok(home, ['create', 'good', 'Good', `echo $CONDUCTOR_ENTRY_ID >> ${log}`, 'event', 'never']);
      const goodId = (await ok(home, ['queue', 'good'])).trim();
      fs.writeFileSync(path.join(home, 'queue', 'hand.json'), JSON.stringify(entry(over)));
      const st = await cli(home, ['status', '--json']);
      expect(JSON.parse(st.stdout).map((e: any) => e.entry_id)).toEqual([goodId]);
      expectOneWarning(st.stderr, reason);
      expect(quarantined(home)).toEqual([expect.stringMatching(new RegExp(`^queue__hand\\.json: .*${reason.source}`))]);
      const r = await cli(home, ['process']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(readLines(log)).toEqual([goodId]);
      expect(fs.readdirSync(path.join(home, 'queue'))).toEqual([]);
    });
  }

  it.runIf(fileStoreOnly)('a queue file whose name does not parse is quarantined, not left unseen', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    const e = entry({ priority: -3 });
    fs.writeFileSync(path.join(home, 'queue', `${e.entry_id}~p-3~a1~m~n0~good.json`), JSON.stringify(e));
    fs.writeFileSync(
      path.join(home, 'queue', `${e.entry_id.slice(0, -1)}x~p0~a1~m~n0~good.json`),
      JSON.stringify({ ...e, priority: 0 }),
    );
    const r = await cli(home, ['status', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
    expect(fs.readdirSync(path.join(home, 'queue'))).toEqual([]);
    expect(quarantined(home)).toHaveLength(2);
  });

  it('a bad running record is quarantined; recovery goes on with the others', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    const bad = entry({ status: 'running', attempt: 0 });
    if (STORE === 'file') fs.writeFileSync(path.join(home, 'running', `${bad.entry_id}~gone.json`), JSON.stringify(bad));
    else
      sqlOn(
        home,
        `INSERT INTO conductor.running (entry_id, owner, task_id, body) VALUES ('${bad.entry_id}', 'gone', 'good', '${JSON.stringify(bad)}')`,
      );
    await ok(home, ['queue', 'good']);
    const r = await cli(home, ['process', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ succeeded: 1 });
    expectOneWarning(r.stderr, /running.*attempt/);
  });

  it('a bad dead letter is quarantined; dlq list shows the others', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    const bad = { ...entry(), dead_at: 'never', last_exit_code: 1, last_error: 'x', log_tail: '' };
    if (STORE === 'file') fs.writeFileSync(path.join(home, 'dlq', `${bad.entry_id}.json`), JSON.stringify(bad));
    else sqlOn(home, `INSERT INTO conductor.dlq (entry_id, body) VALUES ('${bad.entry_id}', '${JSON.stringify(bad)}')`);
    const r = await cli(home, ['dlq', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(quarantined(home)[0]).toMatch(/dead_at/);
  });
});

describe('import checks every record as a read does', () => {
  const cases: [string, (d: any) => void, RegExp][] = [
    ['queue priority 100', (d) => (d.queue[0].priority = 100), /queue\[0\].*priority/],
    ['queue not_before garbage', (d) => (d.queue[0].not_before = 'garbage'), /queue\[0\].*not_before/],
    ['schedule cwd 5', (d) => (d.schedules[0].cwd = 5), /schedules\[0\].*cwd/],
    [
      'schedule pending',
      (d) => (d.schedules[0].pending = [{ entry_id: '../x', scheduled_for: 'now' }]),
      /schedules\[0\].*pending/,
    ],
    [
      'dead letter attempt 0',
      (d) => d.dlq.push({ ...d.queue[0], attempt: 0, dead_at: d.exported_at, last_exit_code: 1, last_error: null, log_tail: '' }),
      /dlq\[0\].*attempt/,
    ],
  ];
  for (const [what, edit, message] of cases) {
    it(what, async () => {
      const src = tempHome();
      await ok(src, ['create', 'a', 'A', 'true', 'event', 'never']);
      await ok(src, ['queue', 'a']);
      const dump = JSON.parse(await ok(src, ['export']));
      edit(dump);
      const file = path.join(workDir(src), 'dump.json');
      fs.writeFileSync(file, JSON.stringify(dump));
      const dst = tempHome();
      await ok(dst, ['resume']); // makes the home
      const before = await stateDigest(dst);
      const r = await cli(dst, ['import', file]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(await stateDigest(dst)).toBe(before);
    });
  }
});

describe('the record checks (pure)', () => {
  const good = entry();
  it('queue entries', () => {
    expect(entryProblem(good)).toBeNull();
    expect(
      entryProblem({
        ...good,
        status: 'running',
        execution_id: `${good.entry_id}.1`,
        started_at: '2026-01-01T00:00:00.000+01:00',
      }),
    ).toBeNull();
    for (const [over, re] of [
      [{ priority: 0 }, /priority/],
      [{ priority: 2.5 }, /priority/],
      [{ attempt: 0 }, /attempt/],
      [{ max_attempts: 0 }, /max_attempts/],
      [{ entry_id: '../x' }, /entry_id/],
      [{ task_id: 5 }, /task_id/],
      [{ enqueued_at: 'now' }, /enqueued_at/],
      [{ not_before: '2026-13-01T00:00:00Z' }, /not_before/],
      [{ after: 'x' }, /after/],
      [{ group: '../g' }, /group/],
      [{ source: 'cron' }, /source/],
      [{ event_depth: -1 }, /event_depth/],
      [{ runs: -1 }, /runs/],
      [{ format: 2 }, /format/],
      [{ estimated_cpu_percent: 101 }, /estimated_cpu_percent/],
    ] as const) {
      expect(entryProblem({ ...good, ...over }), JSON.stringify(over)).toMatch(re);
    }
    expect(
      deadLetterProblem({ ...good, dead_at: '2026-01-01T00:00:00+00:00', last_exit_code: 3, last_error: 'x', log_tail: 'y' }),
    ).toBeNull();
    expect(
      deadLetterProblem({ ...good, dead_at: '2026-01-01T00:00:00+00:00', last_exit_code: 'x', last_error: 'x', log_tail: 'y' }),
    ).toMatch(/last_exit_code/);
  });

  it('pending: null, references to entries, or whole entries', () => {
    expect(pendingProblem(null)).toBeNull();
    expect(pendingProblem(undefined)).toBeNull();
    expect(pendingProblem([{ entry_id: good.entry_id, scheduled_for: '2026-11-25T10:00:00+00:00' }])).toBeNull();
    expect(pendingProblem([good])).toBeNull();
    expect(pendingProblem('x')).toMatch(/pending/);
    expect(pendingProblem([{ entry_id: '../x', scheduled_for: '2026-11-25T10:00:00+00:00' }])).toMatch(/pending\[0\]/);
    expect(pendingProblem([{ entry_id: good.entry_id, scheduled_for: 'soon' }])).toMatch(/scheduled_for/);
    expect(pendingProblem([{ ...good, priority: 11 }])).toMatch(/pending\[0\].*priority/);
  });

  it('queue names out of range do not parse', () => {
    const id = good.entry_id;
    expect(parseQueueName(`${id}~p5~a1~m~n0~t.json`)).toMatchObject({ priority: 5, attempt: 1 });
    expect(parseQueueName(`${id}~p10~a3~rg~n1700000000000~t.json`)).toMatchObject({ priority: 10, attempt: 3, grouped: true });
    for (const bad of [
      `${id}~p0~a1~m~n0~t.json`,
      `${id}~p11~a1~m~n0~t.json`,
      `${id}~p-3~a1~m~n0~t.json`,
      `${id}~p5~a0~m~n0~t.json`,
      `${id}~p5~a1~x~n0~t.json`,
      `${id}~p5~a1~m~nNaN~t.json`,
    ]) {
      expect(parseQueueName(bad), bad).toBeNull();
    }
  });

  it('schedules: the definition as create writes it, and the stored fields', async () => {
    const home = tempHome();
    await ok(home, [
      'create',
      's',
      'S',
      'true',
      'cron',
      '0 2 * * *',
      '--tz',
      'Europe/Berlin',
      '--cwd',
      '/tmp',
      '--env',
      'A=1',
      '--timeout',
      '5m',
    ]);
    const s = readStoredSchedule(home, 's');
    expect(scheduleProblem(s, 's', 'file name')).toBeNull();
    expect(scheduleProblem(s, 't', 'file name')).toMatch(/task_id/);
    expect(scheduleProblem({ ...s, priority: '5' }, 's', 'file name')).toMatch(/priority/);
    expect(scheduleProblem({ ...s, env: { A: 1 } }, 's', 'file name')).toMatch(/env/);
    expect(scheduleProblem({ ...s, average_duration_ms: -1 }, 's', 'file name')).toMatch(/average_duration_ms/);
    expect(scheduleProblem({ ...s, measured_memory_mb: 'lots' }, 's', 'file name')).toMatch(/measured_memory_mb/);
    const { handler: _h, ...noHandler } = s;
    expect(scheduleProblem(noHandler, 's', 'file name')).toMatch(/handler/);
    // Without the time checks (queue, trigger) the zone and cron fields are only checked for form.
    expect(scheduleProblem({ ...s, schedule_expr: '61 * * * *' }, 's', 'file name', 'light')).toBeNull();
    expect(scheduleProblem({ ...s, schedule_expr: '61 * * *' }, 's', 'file name', 'light')).toMatch(/5 fields/);
    expect(scheduleProblem({ ...s, schedule_expr: '61 * * * *' }, 's', 'file name')).toMatch(/minute/);
  });
});
