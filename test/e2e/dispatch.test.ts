import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import {
  alive,
  BIN,
  cli,
  editStoredSchedule,
  fileStoreOnly,
  idleReadings,
  json,
  ok,
  readLines,
  readStoredSchedule,
  STORE,
  tempHome,
  workDir,
} from '../helpers.js';

describe('process', () => {
  it('starts by priority, then first come first served, at concurrency 1', async () => {
    const home = tempHome();
    const out = path.join(workDir(home), 'order.txt');
    for (const [id, prio] of [
      ['low', 2],
      ['mid', 5],
      ['high', 9],
      ['mid2', 5],
      ['top', 10],
    ] as const) {
      await ok(home, ['create', id, id, `echo ${id} >> ${out}`, 'event', 'never', String(prio)]);
    }
    for (const id of ['low', 'mid', 'high', 'mid2', 'top']) await ok(home, ['queue', id]);
    await ok(home, ['queue', 'low', '--priority', '8']);
    const summary = await json(home, ['process', '--max-concurrent', '1']);
    expect(summary.succeeded).toBe(6);
    expect(readLines(out)).toEqual(['top', 'high', 'low', 'mid', 'mid2', 'low']);
  });

  it('never exceeds the concurrency cap, and reaches it', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'spans.txt');
    await ok(home, [
      'create',
      'w',
      'W',
      `echo "start $(date +%s%N)" >> ${log}; sleep 0.4; echo "end $(date +%s%N)" >> ${log}`,
      'event',
      'never',
    ]);
    for (let i = 0; i < 10; i++) await ok(home, ['queue', 'w']);
    await ok(home, ['process', '--max-concurrent', '3']);
    const events = readLines(log).map((l) => {
      const [kind, ns] = l.split(' ');
      return { kind, t: BigInt(ns) };
    });
    expect(events.filter((e) => e.kind === 'start')).toHaveLength(10);
    events.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.kind === 'end' ? -1 : 1));
    let now = 0;
    let peak = 0;
    for (const e of events) {
      now += e.kind === 'start' ? 1 : -1;
      peak = Math.max(peak, now);
    }
    expect(peak).toBe(3);
  });

  it("the concurrency limit is the home's: a second pass does not add runs beyond it", async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'spans.txt');
    await ok(home, [
      'create',
      'w',
      'W',
      `echo "start $(date +%s%N)" >> ${log}; sleep 1; echo "end $(date +%s%N)" >> ${log}`,
      'event',
      'never',
    ]);
    await ok(home, ['queue', 'w', '--count', '4']);
    const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    const first = execa(BIN, ['--home', home, 'process', '--max-concurrent', '2'], { env, reject: false });
    for (let i = 0; i < 50 && readLines(log).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const second = await json(home, ['process', '--max-concurrent', '2']);
    expect(second.started).toBe(0);
    expect((await first).exitCode).toBe(0);
    let now = 0;
    let peak = 0;
    const events = readLines(log)
      .map((l) => l.split(' '))
      .map(([k, t]) => ({ k, t: BigInt(t) }))
      .sort((a, b) => (a.t < b.t ? -1 : 1));
    for (const e of events) peak = Math.max(peak, (now += e.k === 'start' ? 1 : -1));
    expect(events.filter((e) => e.k === 'start')).toHaveLength(4);
    expect(peak).toBe(2);
  });

  it('two process started together over 50 entries run each exactly once', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'ran.txt');
    await ok(home, ['create', 'w', 'W', `echo $CONDUCTOR_ENTRY_ID >> ${log}; sleep 0.05`, 'event', 'never']);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push((await ok(home, ['queue', 'w'])).trim());
    const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    const [a, b] = await Promise.all([
      execa(BIN, ['--home', home, 'process', '--json', '--max-concurrent', '4'], { env, reject: false }),
      execa(BIN, ['--home', home, 'process', '--json', '--max-concurrent', '4'], { env, reject: false }),
    ]);
    expect(a.exitCode).toBe(0);
    expect(b.exitCode).toBe(0);
    const ran = readLines(log);
    expect(ran.sort()).toEqual([...ids].sort());
    expect(JSON.parse(String(a.stdout)).started + JSON.parse(String(b.stdout)).started).toBe(50);
    expect(await json(home, ['status'])).toEqual([]);
    expect((await json<any[]>(home, ['history', '--limit', '100'])).length).toBe(50);
  });

  it('a timeout kills the whole process group, children included', async () => {
    const home = tempHome();
    const pidFile = path.join(workDir(home), 'child.pid');
    await ok(home, ['create', 'hang', 'Hang', `sleep 300 & echo $! > ${pidFile}; wait`, 'event', 'never', '--timeout', '1s']);
    await ok(home, ['queue', 'hang']);
    const t0 = Date.now();
    await ok(home, ['process', '--grace', '1s']);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const child = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(alive(child)).toBe(false);
    const [x] = await json<any[]>(home, ['history', 'hang']);
    expect(x.status).toBe('timeout');
  });

  it('a handler that ignores TERM is killed after the grace period', async () => {
    const home = tempHome();
    await ok(home, [
      'create',
      'stubborn',
      'S',
      `trap "" TERM; sleep 300 & wait; sleep 300`,
      'event',
      'never',
      '--timeout',
      '500ms',
    ]);
    await ok(home, ['queue', 'stubborn']);
    const t0 = Date.now();
    await ok(home, ['process', '--grace', '500ms']);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await json<any[]>(home, ['history']))[0].status).toBe('timeout');
  });

  it('hands the environment and the payload to the handler, never through the command line', async () => {
    const home = tempHome();
    const dir = workDir(home);
    const out = path.join(dir, 'env.txt');
    await ok(home, [
      'create',
      'hook',
      'Hook',
      `env | grep ^CONDUCTOR_ | sort > ${out}; echo "$CONDUCTOR_PAYLOAD" > ${out}.payload`,
      'event',
      'webhook.received',
    ]);
    const payload = JSON.stringify({ evil: `$(touch ${path.join(dir, 'pwned')})`, q: '\'"`' });
    const trig = await json(home, ['trigger', 'webhook.received', '--payload', payload]);
    expect(trig.event).toBe('webhook.received');
    expect(trig.queued).toHaveLength(1);
    await ok(home, ['process']);
    expect(fs.readFileSync(`${out}.payload`, 'utf8').trim()).toBe(payload);
    expect(fs.existsSync(path.join(dir, 'pwned'))).toBe(false);
    const env = fs.readFileSync(out, 'utf8');
    expect(env).toContain('CONDUCTOR_TASK_ID=hook');
    expect(env).toContain(`CONDUCTOR_ENTRY_ID=${trig.queued[0]}`);
    expect(env).toContain(`CONDUCTOR_EXECUTION_ID=${trig.queued[0]}.1`);
    expect(env).toContain('CONDUCTOR_ATTEMPT=1');
    expect(env).toContain('CONDUCTOR_EVENT=webhook.received');
  });

  it('records exit code, duration and output; logs prints it; stats counts it', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'Good', 'echo hello out; echo hello err >&2; sleep 1.2', 'event', 'never']);
    await ok(home, ['create', 'bad', 'Bad', 'echo broken; exit 3', 'event', 'never']);
    await ok(home, ['queue', 'good']);
    await ok(home, ['queue', 'bad']);
    await ok(home, ['process']);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => x.task_id).sort()).toEqual(['bad', 'good']);
    for (const f of [
      'execution_id',
      'entry_id',
      'task_id',
      'attempt',
      'status',
      'exit_code',
      'started_at',
      'finished_at',
      'duration_ms',
      'peak_cpu_percent',
      'peak_memory_mb',
      'log',
    ]) {
      expect(hist[0]).toHaveProperty(f);
    }
    const good = hist.find((x) => x.task_id === 'good');
    const bad = hist.find((x) => x.task_id === 'bad');
    expect(good).toMatchObject({ status: 'success', exit_code: 0, attempt: 1 });
    expect(good.duration_ms).toBeGreaterThanOrEqual(1100);
    expect(good.peak_memory_mb).toBeGreaterThan(0);
    expect(bad).toMatchObject({ status: 'failed', exit_code: 3 });
    expect(await ok(home, ['logs', good.execution_id])).toBe('hello out\nhello err\n');
    expect(await ok(home, ['logs', bad.execution_id])).toBe('broken\n');
    const s = await json(home, ['get', 'good']);
    expect(s.execution_count).toBe(1);
    expect(s.average_duration_ms).toBeGreaterThanOrEqual(1100);
    expect(s.last_executed).not.toBeNull();
    expect((await json(home, ['get', 'bad'])).failure_count).toBe(1);
    const stats = await json(home, ['stats']);
    expect(stats).toMatchObject({ schedules: 2, enabled: 2, queued: 0, executing: 0, completed: 1, failed: 1, dlq: 0 });
    expect((await cli(home, ['logs', 'nope'])).code).toBe(2);
  });

  it.runIf(fileStoreOnly)('folds the history journals of finished passes into a monthly archive, losing nothing', async () => {
    const home = tempHome();
    await ok(home, ['create', 't', 'T', 'echo hi', 'event', 'never']);
    for (let i = 0; i < 4; i++) {
      await ok(home, ['queue', 't']);
      await ok(home, ['process']);
    }
    const files = fs.readdirSync(path.join(home, 'history'));
    expect(files.filter((n) => n.startsWith('archive-'))).toHaveLength(1);
    expect(files.length).toBeLessThanOrEqual(2);
    const hist = await json<any[]>(home, ['history']);
    expect(hist).toHaveLength(4);
    expect(new Set(hist.map((x) => x.execution_id)).size).toBe(4);
    expect(await ok(home, ['logs', hist[3].execution_id])).toBe('hi\n');
  });

  it('caps captured output', async () => {
    const home = tempHome();
    await ok(home, ['create', 'loud', 'Loud', 'head -c 300000 /dev/zero | tr "\\0" x', 'event', 'never']);
    await ok(home, ['queue', 'loud']);
    await ok(home, ['process'], { CONDUCTOR_LOG_CAP: '1000' });
    const [x] = await json<any[]>(home, ['history']);
    const log = await ok(home, ['logs', x.execution_id]);
    expect(log.length).toBeLessThan(1200);
    expect(log).toMatch(/output truncated, 299000 more bytes dropped/);
    expect(x.status).toBe('success');
  });

  it('a cron schedule due many times while nothing ran fires once (catch-up once)', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'ran.txt');
    await ok(home, ['create', 'c', 'C', `echo $CONDUCTOR_ENTRY_ID >> ${log}`, 'cron', '*/5 * * * *', '--tz', 'UTC'], {
      CONDUCTOR_NOW: '2026-11-25T10:01:00Z',
    });
    expect((await json(home, ['get', 'c'], { CONDUCTOR_NOW: '2026-11-25T10:01:00Z' })).next_execution).toBe(
      '2026-11-25T10:05:00+00:00',
    );
    const later = { CONDUCTOR_NOW: '2026-11-25T11:02:00Z' };
    await ok(home, ['process'], later);
    expect(readLines(log)).toHaveLength(1);
    const s = await json(home, ['get', 'c'], later);
    expect(s.next_execution).toBe('2026-11-25T11:05:00+00:00');
    expect(s.execution_count).toBe(1);
    await ok(home, ['process'], later);
    expect(readLines(log)).toHaveLength(1);
  });

  it('a crash between advancing a schedule and queueing its runs is completed by the next pass', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'ran.txt');
    const t0 = { CONDUCTOR_NOW: '2026-11-25T10:00:30Z' };
    await ok(home, ['create', 'c', 'C', `echo $CONDUCTOR_ENTRY_ID >> ${log}`, 'cron', '*/10 * * * *', '--tz', 'UTC'], t0);
    // What a pass killed right after its locked write leaves: next run advanced, entries named, none created.
    editStoredSchedule(home, 'c', (s) => {
      s.pending = [
        { entry_id: '0lost000000a-0000000001', scheduled_for: '2026-11-25T09:50:00+00:00' },
        { entry_id: '0lost000000b-0000000002', scheduled_for: '2026-11-25T10:00:00+00:00' },
      ];
    });
    await ok(home, ['process'], t0);
    expect(readLines(log).sort()).toEqual(['0lost000000a-0000000001', '0lost000000b-0000000002']);
    expect(readStoredSchedule(home, 'c').pending).toBeNull();
    await ok(home, ['process'], t0);
    expect(readLines(log)).toHaveLength(2);
  });

  it('catch-up all queues every missed run, none queues only an on-time one', async () => {
    const home = tempHome();
    const t0 = { CONDUCTOR_NOW: '2026-11-25T10:01:00Z' };
    await ok(
      home,
      ['create', 'all', 'All', 'true', 'cron', '*/10 * * * *', '--tz', 'UTC', '--catch-up', 'all', '--overlap', 'allow'],
      t0,
    );
    await ok(home, ['create', 'none', 'None', 'true', 'cron', '*/10 * * * *', '--tz', 'UTC', '--catch-up', 'none'], t0);
    await ok(home, ['pause']);
    await ok(home, ['process'], { CONDUCTOR_NOW: '2026-11-25T11:05:00Z' });
    const q = await json<any[]>(home, ['status']);
    expect(q.filter((e) => e.task_id === 'all')).toHaveLength(6);
    expect(q.filter((e) => e.task_id === 'none')).toHaveLength(0);
  });
});

// Handlers start from the Perl helper where /usr/bin/perl exists, else from Node (run/spawner.ts);
// both must behave the same.
describe.each([
  ['perl helper', {}],
  ['node spawn', { CONDUCTOR_SPAWNER: 'node' }],
])('launching through the %s', (_name, launcherEnv: Record<string, string>) => {
  it('exit codes, signals, output, environment, missing cwd, a background child holding the output', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, [
      'create',
      'out',
      'Out',
      'echo "p=$CONDUCTOR_PAYLOAD"; echo err >&2; pwd; printf "%s\\n" "$HOME_MARK"',
      'event',
      'never',
      '--cwd',
      dir,
      '--env',
      'HOME_MARK=m k',
    ]);
    await ok(home, ['create', 'code', 'Code', 'exit 7', 'event', 'never']);
    await ok(home, ['create', 'sig', 'Sig', 'kill -KILL $$', 'event', 'never']);
    await ok(home, ['create', 'nocwd', 'NoCwd', 'true', 'event', 'never', '--cwd', path.join(dir, 'missing')]);
    await ok(home, ['create', 'bg', 'Bg', `sleep 5 & echo $! > ${dir}/bg.pid; echo started`, 'event', 'never']);
    await ok(home, ['create', 'quiet', 'Quiet', 'true', 'event', 'never']);
    await ok(home, ['queue', 'out', '--payload', '{"a": "b c"}']);
    for (const t of ['code', 'sig', 'nocwd', 'bg', 'quiet']) await ok(home, ['queue', t]);
    const t0 = Date.now();
    await ok(home, ['process', '--max-concurrent', '6'], launcherEnv);
    expect(Date.now() - t0).toBeLessThan(4000);
    const hist = await json<any[]>(home, ['history'], launcherEnv);
    const by = (t: string) => hist.find((x) => x.task_id === t);
    expect(by('out')).toMatchObject({ status: 'success', exit_code: 0 });
    // stdout and stderr share one pipe under the helper; from Node they are two, so their order may differ.
    expect((await ok(home, ['logs', by('out').execution_id])).split('\n').filter(Boolean).sort()).toEqual(
      [dir, 'err', 'm k', 'p={"a": "b c"}'].sort(),
    );
    expect(by('code')).toMatchObject({ status: 'failed', exit_code: 7, error: 'exit code 7' });
    expect(by('sig')).toMatchObject({ status: 'failed', exit_code: null, signal: 'SIGKILL' });
    expect(by('nocwd')).toMatchObject({
      status: 'failed',
      error: `working directory ${path.join(dir, 'missing')} does not exist`,
    });
    expect(by('bg')).toMatchObject({ status: 'success' });
    expect(await ok(home, ['logs', by('bg').execution_id])).toBe('started\n');
    expect(await ok(home, ['logs', by('quiet').execution_id])).toBe('');
    if (STORE === 'file') expect(fs.existsSync(path.join(home, 'logs', `${by('quiet').execution_id}.log`))).toBe(false);
    process.kill(Number(fs.readFileSync(`${dir}/bg.pid`, 'utf8')), 'SIGKILL');
  });
});
