// Issue 15 (operations), item by item as they land.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { BIN, cli, fileStoreOnly, idleReadings, json, ok, readLines, storeEnv, tempHome, workDir } from '../helpers.js';

describe('handlers can call conductor', () => {
  it("under cron's PATH a handler finds conductor first on PATH, and CONDUCTOR_BIN names its folder", async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, [
      'create',
      'first',
      'First',
      `echo "$CONDUCTOR_BIN" > ${dir}/bin; conductor trigger next.step`,
      'event',
      'go',
    ]);
    await ok(home, ['create', 'second', 'Second', `echo ran >> ${dir}/second`, 'event', 'next.step']);
    await ok(home, ['trigger', 'go']);
    const r = await cli(home, ['process'], { PATH: '/usr/bin:/bin' });
    expect(r.code, r.stderr).toBe(0);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => `${x.task_id}:${x.status}`).sort()).toEqual(['first:success', 'second:success']);
    expect(readLines(`${dir}/second`)).toEqual(['ran']);
    expect(readLines(`${dir}/bin`)).toEqual([path.dirname(BIN)]);
    expect(fs.existsSync(path.join(readLines(`${dir}/bin`)[0], 'conductor'))).toBe(true);
  });
});

describe('consistent answers', () => {
  it('history of an id that is neither a schedule nor in history exits 2, like get; a deleted schedule keeps its history', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    const r = await cli(home, ['history', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown task id 'nope'/);
    expect((await cli(home, ['history', 'a', '--json'])).stdout.trim()).toBe('[]');
    await ok(home, ['trigger', 'e']);
    await ok(home, ['process']);
    await ok(home, ['delete', 'a']);
    expect((await json<any[]>(home, ['history', 'a'])).map((x) => x.status)).toEqual(['success']);
  });
});

describe('logs that can be read later', () => {
  it('every line process writes to a file or pipe starts with an ISO-8601 timestamp', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    await ok(home, ['trigger', 'e']);
    const r = await cli(home, ['process']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z) \S/);
    expect(Math.abs(Date.parse(lines[0].split(' ')[0]) - Date.now())).toBeLessThan(60_000);
    // --json is a document, not log lines.
    await ok(home, ['trigger', 'e']);
    expect(JSON.parse((await cli(home, ['process', '--json'])).stdout).succeeded).toBe(1);
  });
});

describe('the wrong directory is obvious', () => {
  const reads = [
    ['list'],
    ['get', 'a'],
    ['status'],
    ['history'],
    ['logs', 'x'],
    ['stats'],
    ['health'],
    ['dlq', 'list'],
    ['prune', '--older-than', '30d'],
    ['events'],
    ['export'],
  ];
  it.skipIf(!fileStoreOnly)('read verbs on a missing home exit 1, name the home and the fix, and create nothing', async () => {
    const home = tempHome();
    for (const args of reads) {
      for (const extra of [[], ['--json']]) {
        const r = await cli(home, [...args, ...extra]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
        expect(r.stderr.trim()).toBe(`conductor: no conductor home at ${home} (set --home or CONDUCTOR_HOME)`);
        expect(r.stdout).toBe('');
        expect(fs.existsSync(home)).toBe(false);
      }
    }
    // A verb that writes creates the home, as before; then reads answer.
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    expect((await json<any[]>(home, ['list'])).map((s) => s.task_id)).toEqual(['a']);
  });
});

describe('the wrong directory is obvious, for every verb (found in review)', () => {
  it.skipIf(!fileStoreOnly)('verbs about an id answer unknown id (exit 2) on a missing home and create nothing', async () => {
    const home = tempHome();
    const verbs = [
      ['queue', 'x'],
      ['cancel', 'e1'],
      ['delete', 'x'],
      ['enable', 'x'],
      ['disable', 'x'],
      ['dlq', 'retry', 'e1'],
    ];
    for (const args of verbs) {
      const r = await cli(home, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/unknown (task|entry) id '.+': there is no conductor home at /);
      expect(fs.existsSync(home)).toBe(false);
    }
    expect((await cli(home, ['dlq', 'purge'])).code).toBe(1);
    expect(fs.existsSync(home)).toBe(false);
  });

  it.skipIf(!fileStoreOnly)(
    'a read verb pointed at a folder that is not a home leaves it as it was; an empty folder is a new home',
    async () => {
      const home = tempHome();
      fs.mkdirSync(home);
      fs.writeFileSync(path.join(home, 'README'), 'a project\n');
      const r = await cli(home, ['status']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no conductor home at ${home}`);
      expect(fs.readdirSync(home)).toEqual(['README']);
      fs.rmSync(path.join(home, 'README'));
      expect((await cli(home, ['status', '--json'])).stdout.trim()).toBe('[]');
    },
  );
});

describe('rough edges found in review', () => {
  it('--wait with --no-wait, and an empty or folder --output, are refused with exit 2', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    const both = await cli(home, ['process', '--wait', '--no-wait']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--wait and --no-wait contradict each other/);
    expect((await cli(home, ['process', '--no-wait', '--wait'])).code).toBe(2);
    const dir = workDir(home);
    for (const out of ['', dir]) {
      const r = await cli(home, ['stats', '--format', 'prometheus', '--output', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('queue --count --json', () => {
  it('prints an array of entries of the shape queue --json prints, for any N', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    const one = await json(home, ['queue', 'a']);
    for (const n of ['1', '3']) {
      const many = await json<any[]>(home, ['queue', 'a', '--count', n]);
      expect(Array.isArray(many)).toBe(true);
      expect(many).toHaveLength(Number(n));
      for (const e of many) expect(Object.keys(e).sort()).toEqual(Object.keys(one).sort());
    }
  });
});

/** Samples of an exposition: 'name{labels}' -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The home's label: its path on the file store, the database (without password) on PostgreSQL. */
const homeLabel = (text: string) => text.match(/home="[^"]*"/)![0];

const promtool = (file: string) => execa('promtool', ['check', 'metrics'], { inputFile: file, reject: false });

describe('Prometheus', () => {
  it('the textfile passes promtool, is 0644 whatever the umask, counts in seconds, and says when the last pass ran', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'ok', 'Ok', 'sleep 0.3', 'event', 'e']);
    await ok(home, ['create', 'bad', 'Bad', 'exit 3', 'event', 'e']);
    await ok(home, ['trigger', 'e']);
    await cli(home, ['process']);
    const file = path.join(dir, 'conductor.prom');
    const r = await execa(
      'sh',
      ['-c', `umask 077 && "$0" "$@"`, BIN, '--home', home, 'stats', '--format', 'prometheus', '--output', file],
      {
        env: storeEnv(home),
        reject: false,
      },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    const check = await promtool(file);
    expect(check.exitCode, `${check.stdout}${check.stderr}`).toBe(0);
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toMatch(/_ms\b|_avg\b/);
    const s = samples(text);
    const label = homeLabel(text);
    expect(Math.abs((s.get(`conductor_last_pass_timestamp_seconds{${label}}`) ?? 0) * 1000 - Date.now())).toBeLessThan(60_000);
    expect(s.get(`conductor_executions_total{${label},task="ok",status="success"}`)).toBe(1);
    expect(s.get(`conductor_executions_total{${label},task="bad",status="failed"}`)).toBe(1);
    expect(s.get(`conductor_execution_duration_seconds_count{${label}}`)).toBe(2);
    expect(s.get(`conductor_execution_duration_seconds_sum{${label}}`)).toBeGreaterThanOrEqual(0.3);
    expect(s.get(`conductor_execution_duration_seconds_bucket{${label},le="0.1"}`)).toBe(1);
  });

  it('a breaker state is a value of one series, not a label that starts a new series at every change', async () => {
    const home = tempHome();
    await ok(home, ['create', 'bad', 'Bad', 'exit 1', 'event', 'e', '--breaker-threshold', '1']);
    const before = await ok(home, ['stats', '--format', 'prometheus']);
    await ok(home, ['trigger', 'e']);
    await cli(home, ['process']);
    const after = await ok(home, ['stats', '--format', 'prometheus']);
    const series = (t: string) => [...samples(t).keys()].filter((k) => k.startsWith('conductor_breaker_state'));
    expect(series(before)).toEqual([`conductor_breaker_state{${homeLabel(before)},breaker="bad"}`]);
    expect(series(after)).toEqual(series(before));
    expect(samples(before).get(series(before)[0])).toBe(0);
    expect(samples(after).get(series(after)[0])).toBe(2);
    expect(after).not.toMatch(/state="/);
  });

  it('two homes export side by side: no series of one is a series of the other', async () => {
    const [a, b] = [tempHome(), tempHome()];
    for (const home of [a, b]) await ok(home, ['create', 'same', 'Same', 'true', 'event', 'e']);
    const [ka, kb] = await Promise.all(
      [a, b].map(async (h) => [...samples(await ok(h, ['stats', '--format', 'prometheus'])).keys()]),
    );
    expect(ka.filter((k) => kb.includes(k))).toEqual([]);
  });

  it('--output into a missing folder names that folder, exits 1 and writes nothing', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    const missing = path.join(workDir(home), 'no', 'such');
    const r = await cli(home, ['stats', '--format', 'prometheus', '--output', path.join(missing, 'm.prom')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`folder ${missing} does not exist`);
    expect(r.stderr).not.toMatch(/\.tmp-/);
    expect(fs.existsSync(path.dirname(missing))).toBe(false);
  });

  it('counters are exact with history and never go down while passes run at once', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'e']);
    await ok(home, ['create', 'bad', 'Bad', 'exit 1', 'event', 'e', '--breaker-threshold', '1000']);
    await ok(home, ['create', 'slow', 'Slow', 'sleep 5', 'event', 'e', '--timeout', '1s']);
    for (const id of ['good', 'bad']) await ok(home, ['queue', id, '--count', '25']);
    await ok(home, ['queue', 'slow', '--count', '2']);
    const passes = [1, 2, 3].map(() => cli(home, ['process', '--max-concurrent', '3']));
    let done = false;
    void Promise.all(passes).then(() => (done = true));
    let last = new Map<string, number>();
    while (!done) {
      const now = samples(await ok(home, ['stats', '--format', 'prometheus']));
      for (const [k, v] of now) if (/_total\{/.test(k) && last.has(k)) expect(v, k).toBeGreaterThanOrEqual(last.get(k)!);
      last = now;
    }
    // Passes that found the concurrency taken leave entries to the next pass.
    for (let i = 0; i < 20 && (await json<any[]>(home, ['status'])).length; i++) await ok(home, ['process']);
    const text = await ok(home, ['stats', '--format', 'prometheus']);
    const end = samples(text);
    const label = homeLabel(text);
    const hist = await json<any[]>(home, ['history', '--limit', '1000']);
    expect(hist).toHaveLength(52);
    for (const task of ['good', 'bad', 'slow'])
      for (const status of ['success', 'failed', 'timeout'])
        expect(end.get(`conductor_executions_total{${label},task="${task}",status="${status}"}`), `${task} ${status}`).toBe(
          hist.filter((x) => x.task_id === task && x.status === status).length,
        );
    expect(end.get(`conductor_execution_duration_seconds_count{${label}}`)).toBe(52);
  }, 120_000);
});

describe('scripts can wait', () => {
  it('process --wait waits out a retry backoff and load that holds an entry back, then exits 0 with nothing left', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, [
      'create',
      'flaky',
      'Flaky',
      `test -f ${dir}/again || { touch ${dir}/again; exit 1; }`,
      'event',
      'e',
      '--retries',
      '1',
      '--backoff',
      '2s',
    ]);
    await ok(home, ['create', 'heavy', 'Heavy', 'true', 'event', 'e', '--cpu', '30']);
    const readings = idleReadings(home);
    fs.writeFileSync(readings, JSON.stringify({ cpu: 70, mem: 0 }));
    await ok(home, ['trigger', 'e']);
    setTimeout(() => fs.writeFileSync(readings, JSON.stringify({ cpu: 0, mem: 0 })), 3_000);
    const t0 = Date.now();
    const r = await cli(home, ['process', '--wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeGreaterThan(2_500);
    expect(JSON.parse(r.stdout)).toMatchObject({ still_queued: 0, timed_out: false });
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => `${x.task_id}:${x.attempt}:${x.status}`).sort()).toEqual([
      'flaky:1:failed',
      'flaky:2:success',
      'heavy:1:success',
    ]);
    expect(await json(home, ['status'])).toEqual([]);
  }, 60_000);

  it('--wait-timeout gives up with exit 1 and leaves the entry queued; --wait-timeout without --wait is refused', async () => {
    const home = tempHome();
    await ok(home, ['create', 'heavy', 'Heavy', 'true', 'event', 'e', '--cpu', '30']);
    fs.writeFileSync(idleReadings(home), JSON.stringify({ cpu: 90, mem: 0 }));
    await ok(home, ['trigger', 'e']);
    const t0 = Date.now();
    const r = await cli(home, ['process', '--wait', '--wait-timeout', '2s']);
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.stdout).toMatch(/gave up after --wait-timeout 2s: 0 started.*1 still queued/);
    expect((await json<any[]>(home, ['status'])).map((e) => e.task_id)).toEqual(['heavy']);
    const bad = await cli(home, ['process', '--wait-timeout', '2s']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--wait-timeout goes with --wait/);
  }, 60_000);

  it("--wait ends at once, exit 1, when what is left never fits the pass's limits, naming it (found in review)", async () => {
    const home = tempHome();
    await ok(home, ['create', 'big', 'Big', 'true', 'event', 'e', '--cpu', '60']);
    await ok(home, ['create', 'small', 'Small', 'true', 'event', 'e']);
    await ok(home, ['trigger', 'e']);
    const t0 = Date.now();
    const r = await cli(home, ['process', '--wait', '--max-cpu', '50']);
    expect(r.code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.stdout).toMatch(/--wait gives up: \S+ \(big\) never fit/);
    expect((await json<any[]>(home, ['history'])).map((x) => x.task_id)).toEqual(['small']);
    const [left] = await json<any[]>(home, ['status']);
    expect(left.blocked_reason).toMatch(/never fits this pass's limits: cpu estimate 60% exceeds the limit 50%/);
  }, 60_000);

  it("the README's CI snippet passes on its own run's success and fails when its run failed or never ran", async () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const snippet = readme.match(/# queue and wait in a CI job[^\n]*\n([\s\S]*?)```/)![1];
    const home = tempHome();
    const dir = workDir(home);
    const run = async (handler: string, before: string[][] = []) => {
      await cli(home, ['delete', 'integration-tests']);
      await ok(home, ['create', 'integration-tests', 'Tests', handler, 'event', 'ci']);
      for (const args of before) await ok(home, args);
      const r = await execa('sh', ['-c', snippet], {
        env: {
          ...storeEnv(home),
          CONDUCTOR_HOME: home,
          PATH: `${path.dirname(BIN)}:${process.env.PATH}`,
          CONDUCTOR_RESOURCES_FILE: idleReadings(home),
        },
        reject: false,
        cwd: dir,
      });
      return r.exitCode;
    };
    expect(await run('exit 1')).not.toBe(0);
    expect(await run('true')).toBe(0);
    // An earlier success must not pass a run that never happened (a paused home starts nothing).
    expect(await run('true', [['pause']])).not.toBe(0);
  }, 60_000);
});

describe('operators learn when nothing runs', () => {
  const finding = (report: any, check: string) => report.findings.find((f: any) => f.check === check);

  it('health fails when a due entry has waited longer than --max-wait, naming it and why it waits', async () => {
    const home = tempHome();
    await ok(home, ['create', 'heavy', 'Heavy', 'true', 'event', 'e', '--cpu', '30']);
    const readings = idleReadings(home);
    fs.writeFileSync(readings, JSON.stringify({ cpu: 90, mem: 0 }));
    const t0 = '2026-12-01T10:00:00Z';
    const entry = (await ok(home, ['queue', 'heavy'], { CONDUCTOR_NOW: t0 })).trim();
    await ok(home, ['process'], { CONDUCTOR_NOW: t0, CONDUCTOR_PATIENCE_MS: '0' });
    const at = (iso: string, args: string[] = []) => cli(home, ['health', '--json', ...args], { CONDUCTOR_NOW: iso });
    const early = await at('2026-12-01T10:20:00Z');
    expect(finding(JSON.parse(early.stdout), 'waiting').ok).toBe(true);
    const late = await at('2026-12-01T10:45:00Z');
    expect(late.code).toBe(1);
    const w = finding(JSON.parse(late.stdout), 'waiting');
    expect(w.ok).toBe(false);
    expect(w.message).toContain(`${entry} (heavy) waited 45m`);
    expect(w.message).toMatch(/cpu/i);
    // --max-wait moves the line; bad durations are refused.
    expect(finding(JSON.parse((await at('2026-12-01T10:45:00Z', ['--max-wait', '1h'])).stdout), 'waiting').ok).toBe(true);
    expect((await at('2026-12-01T10:45:00Z', ['--max-wait', 'soon'])).code).toBe(2);
    // Once it ran, nothing waits.
    fs.writeFileSync(readings, JSON.stringify({ cpu: 0, mem: 0 }));
    await ok(home, ['process'], { CONDUCTOR_NOW: '2026-12-01T10:46:00Z' });
    expect(finding(JSON.parse((await at('2026-12-01T10:47:00Z')).stdout), 'waiting').ok).toBe(true);
  });

  it('health reports a cron or interval schedule whose due run has not started within two periods as late', async () => {
    const home = tempHome();
    const t0 = '2026-12-01T10:00:30Z';
    await ok(home, ['create', 'tick', 'Tick', 'true', 'interval', '5m'], { CONDUCTOR_NOW: t0 });
    await ok(home, ['create', 'hourly', 'Hourly', 'true', 'cron', '0 * * * *', '--tz', 'UTC'], { CONDUCTOR_NOW: t0 });
    const health = async (iso: string) => JSON.parse((await cli(home, ['health', '--json'], { CONDUCTOR_NOW: iso })).stdout);
    expect(finding(await health('2026-12-01T10:14:00Z'), 'late').ok).toBe(true);
    const report = await health('2026-12-01T10:16:00Z');
    const late = finding(report, 'late');
    expect(late.ok).toBe(false);
    expect(late.message).toMatch(/tick was due at 2026-12-01T10:05:30.*not queued/);
    expect(late.message).not.toMatch(/hourly/);
    expect(report.healthy).toBe(false);
    expect(finding(await health('2026-12-01T13:01:00Z'), 'late').message).toMatch(/hourly was due at 2026-12-01T11:00:00/);
  });
});
