// Issue item "Retention": `prune --older-than DUR [--keep N]` and `process --daemon --retain DUR`.
import { execa } from 'execa';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, fileStoreOnly, idleReadings, json, ok, STORE, stateDigest, storeEnv, tempHome, workDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const at = (iso: string) => ({ CONDUCTOR_NOW: iso });
/** Well over 30 days before the tests run (the clock is pinned there for the runs that must look old). */
const OLD = ['2026-08-01T10:00:00Z', '2026-08-02T10:00:00Z', '2026-08-03T10:00:00Z'];

/** One run of every listener of `event`, at `when` (the injected clock) or now. */
async function runAt(home: string, event: string, when?: string): Promise<void> {
  const env = when ? at(when) : {};
  await ok(home, ['trigger', event], env);
  await ok(home, ['process'], env);
}

/** Schedules a (three old runs, one new) and b (one old run): 4 old, 1 new. */
async function oldAndNew(home: string): Promise<void> {
  await ok(home, ['create', 'a', 'A', 'echo out-a', 'event', 'ea']);
  await ok(home, ['create', 'b', 'B', 'echo out-b', 'event', 'eb']);
  for (const t of OLD) await runAt(home, 'ea', t);
  await runAt(home, 'eb', OLD[0]);
  await runAt(home, 'ea');
}

/** An execution record of task a (event ea) as a history archive holds it: one JSON line. */
const archived = (i: number, finished: string) =>
  JSON.stringify({
    format: 1,
    execution_id: `x${i}.1`,
    entry_id: `x${i}`,
    task_id: 'a',
    attempt: 1,
    status: 'success',
    exit_code: 0,
    signal: null,
    started_at: finished,
    finished_at: finished,
    duration_ms: 1,
    peak_cpu_percent: null,
    peak_memory_mb: null,
    log: null,
    error: null,
    event: 'ea',
  });

const ids = (xs: any[]) => xs.map((x) => x.execution_id).sort();
const counters = (s: any) => [s.execution_count, s.failure_count, s.average_duration_ms, s.last_executed];

/** What prune must not touch: the schedules' counters and the stats. */
async function untouched(home: string): Promise<unknown> {
  const stats = await json(home, ['stats']);
  return { a: counters(await json(home, ['get', 'a'])), b: counters(await json(home, ['get', 'b'])), stats };
}

describe('prune', () => {
  it('removes old executions, their logs and events; keeps new ones and the --keep newest; counters unchanged', async () => {
    const home = tempHome();
    await oldAndNew(home);
    const before = await json<any[]>(home, ['history']);
    expect(before).toHaveLength(5);
    const events = await json<any[]>(home, ['events', '--limit', '1000']);
    const oldEvents = events.filter((e) => Date.parse(e.at) < Date.now() - 30 * 86_400_000).length;
    expect(oldEvents).toBe(4); // the triggers of the old runs
    const fixed = await untouched(home);
    const byStart = (task: string) => before.filter((x) => x.task_id === task); // newest first
    const [aNew, a3, a2, a1] = byStart('a');
    const [b1] = byStart('b');

    const r = await json(home, ['prune', '--older-than', '30d', '--keep', '2']);
    expect(r).toMatchObject({ executions: 2, logs: 2, events: oldEvents, older_than: '30d', keep: 2 });
    expect(r.bytes).toBeGreaterThan(0);
    expect(Math.abs(Date.parse(r.cutoff) - (Date.now() - 30 * 86_400_000))).toBeLessThan(60_000);
    expect(Object.keys(r)).toEqual(['executions', 'logs', 'events', 'bytes', 'older_than', 'cutoff', 'keep']);

    expect(ids(await json(home, ['history']))).toEqual(ids([aNew, a3, b1]));
    expect((await cli(home, ['logs', a1.execution_id])).code).toBe(2);
    expect(fs.existsSync(path.join(home, 'logs', `${a2.execution_id}.log`))).toBe(false);
    expect(await ok(home, ['logs', a3.execution_id])).toBe('out-a\n');
    expect(await ok(home, ['logs', aNew.execution_id])).toBe('out-a\n');
    expect((await json<any[]>(home, ['events', '--limit', '1000'])).length).toBe(events.length - oldEvents);
    expect(await untouched(home)).toEqual(fixed);

    expect(await ok(home, ['prune', '--older-than', '30d'])).toMatch(
      /^pruned 2 executions, 2 logs and 0 events \(\d+(\.\d)? k?B\) older than 30d\n$/,
    );
    expect(ids(await json(home, ['history']))).toEqual(ids([aNew]));
    expect(await json(home, ['history', 'b'])).toEqual([]);
    expect(await untouched(home)).toEqual(fixed);
    expect(await ok(home, ['prune', '--older-than', '30d'])).toBe(
      'pruned 0 executions, 0 logs and 0 events (0 B) older than 30d\n',
    );
  });

  it.runIf(fileStoreOnly)('rewrites archives without the pruned records and deletes an archive left empty', async () => {
    const home = tempHome();
    await oldAndNew(home);
    await ok(home, ['process']); // folds the last pass's journal
    const hist = path.join(home, 'history');
    const august = path.join(hist, 'archive-2026-08.jsonl');
    expect(fs.existsSync(august)).toBe(true);
    const [, a3] = (await json<any[]>(home, ['history', 'a'])).map((x) => x.execution_id);
    await ok(home, ['prune', '--older-than', '30d', '--keep', '2']);
    // a's two oldest runs are gone from the archive the old passes were folded into; a3 is kept by --keep 2.
    const records = (file: string) =>
      fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    expect(records(august).map((x) => x.execution_id)).toEqual([a3]);
    await ok(home, ['prune', '--older-than', '30d']);
    expect(fs.existsSync(august)).toBe(false);
    const december = path.join(hist, 'archive-2026-12.jsonl');
    expect(records(december).map((x) => x.task_id)).toEqual(['a']);
    expect(fs.readdirSync(hist).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect((await json<any[]>(home, ['history'])).map((x) => x.task_id)).toEqual(['a']);
  });

  it('bad input exits 2 with one line and changes nothing; an absent home is not created', async () => {
    const home = tempHome();
    await oldAndNew(home);
    const digest = await stateDigest(home);
    const bad: [string[], RegExp][] = [
      [['prune'], /--older-than/],
      [['prune', '--older-than', 'soon'], /invalid --older-than 'soon'/],
      [['prune', '--older-than', '0'], /invalid --older-than '0'/],
      [['prune', '--older-than', '4000d'], /at most 3650 days/],
      [['prune', '--older-than', '30d', '--keep', '-1'], /invalid --keep '-1'/],
      [['prune', '--older-than', '30d', '--keep', '1.5'], /invalid --keep '1.5'/],
      [['prune', '--older-than', '30d', '--keep'], /--keep/],
      [['process', '--daemon', '--retain', 'weekly'], /invalid --retain 'weekly'/],
      [['process', '--retain', '30d'], /--retain is for the daemon/],
    ];
    for (const [args, why] of bad) {
      const r = await cli(home, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await stateDigest(home)).toBe(digest);
    const absent = path.join(path.dirname(home), 'absent');
    expect((await execa(BIN, ['--home', absent, 'prune', '--older-than', 'x'], { reject: false })).exitCode).toBe(2);
    expect(fs.existsSync(absent)).toBe(false);
  });

  it('beside a running process loses nothing that is kept, and leaves the log of a run still going', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await oldAndNew(home);
    await ok(home, ['create', 'fast', 'Fast', 'echo fast', 'event', 'never']);
    await ok(home, ['create', 'slow', 'Slow', `echo begun; touch ${dir}/begun; sleep 2; echo ended`, 'event', 'never']);
    await ok(home, ['queue', 'slow']);
    await ok(home, ['queue', 'fast', '--count', '40']);
    const pass = execa(BIN, ['--home', home, 'process', '--max-concurrent', '3'], {
      env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) },
      reject: false,
    });
    for (let i = 0; i < 100 && !fs.existsSync(`${dir}/begun`); i++) await sleep(50);
    let pruned = (await json(home, ['prune', '--older-than', '30d'])).executions;
    // While slow runs: everything that finished more than a moment ago goes, but not its log.
    const short = await json(home, ['prune', '--older-than', '100ms']);
    while (pass.exitCode === null) pruned += (await json(home, ['prune', '--older-than', '30d'])).executions;
    expect((await pass).exitCode).toBe(0);
    expect(pruned).toBe(4);
    const hist = await json<any[]>(home, ['history']);
    const slow = hist.find((x) => x.task_id === 'slow');
    expect(slow?.status).toBe('success');
    expect(await ok(home, ['logs', slow.execution_id])).toBe('begun\nended\n');
    const fast = hist.filter((x) => x.task_id === 'fast').length;
    // a's new run had been folded into an archive; on files the pass's own journal is live and left alone.
    if (STORE === 'file') expect([short.executions, fast]).toEqual([1, 40]);
    else expect(fast).toBe(41 - short.executions);
    expect(hist.filter((x) => x.task_id === 'a')).toHaveLength(0);
    const a = await json(home, ['get', 'fast']);
    expect(a.execution_count).toBe(40);
  });

  it.runIf(fileStoreOnly)(
    'a fold that takes over the lock of a stalled prune loses nothing it appended (found in review)',
    async () => {
      const home = tempHome();
      await ok(home, ['create', 'a', 'A', 'true', 'event', 'ea']);
      await ok(home, ['create', 'y', 'Y', 'true', 'event', 'ey']);
      const old = '2026-08-01T00:00:00.000Z';
      const record = (i: number) => archived(i, old);
      // Old records in this month's archive: the one the fold below appends to.
      const month = new Date().toISOString().slice(0, 7);
      const lines = Array.from({ length: 150_000 }, (_, i) => record(i));
      fs.writeFileSync(path.join(home, 'history', `archive-${month}.jsonl`), lines.join('\n') + '\n', { mode: 0o600 });
      const lock = path.join(home, 'locks', 'history-archive.lock');
      const prune = execa(BIN, ['--home', home, 'prune', '--older-than', '30d'], { reject: false });
      while (!fs.existsSync(lock)) await sleep(2);
      // Stopped while it works on what it has read (the reading is a small part of its work).
      await sleep(400);
      prune.kill('SIGSTOP');
      // A run recorded now goes to a journal that the next pass folds: it waits for the lock, finds it
      // unrefreshed (the prune is stopped) after 10 s, takes it over and appends to the archive.
      await ok(home, ['trigger', 'ey']);
      await ok(home, ['process']);
      await ok(home, ['process']);
      prune.kill('SIGCONT');
      expect((await prune).exitCode).toBe(0);
      expect((await json<any[]>(home, ['history', 'y'])).map((x) => x.status)).toEqual(['success']);
      expect(await json<any[]>(home, ['history', 'a'])).toHaveLength(0);
    },
    120_000,
  );

  it.runIf(fileStoreOnly)('killed mid-prune (kill -9), it loses no record that should be kept', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'ea']);
    const n = 20_000;
    const record = archived;
    const lines = Array.from({ length: n }, (_, i) => record(i, i % 2 ? '2026-08-01T00:00:00.000Z' : new Date().toISOString()));
    const archive = path.join(home, 'history', 'archive-2026-08.jsonl');
    const kept = Array.from({ length: n / 2 }, (_, j) => `x${2 * j}.1`);
    // Each attempt starts from the whole archive and is killed at another moment of its rewrite (about a second).
    for (const delay of [150, 300, 450, 600, 800]) {
      fs.writeFileSync(archive, lines.join('\n') + '\n', { mode: 0o600 });
      const p = execa(BIN, ['--home', home, 'prune', '--older-than', '30d'], { reject: false });
      await sleep(delay);
      p.kill('SIGKILL');
      await p;
      const seen = new Set((await json<any[]>(home, ['history'])).map((x) => x.execution_id));
      for (const id of kept) expect(seen.has(id), id).toBe(true);
    }
    await ok(home, ['prune', '--older-than', '30d']);
    expect((await json<any[]>(home, ['history'])).length).toBe(n / 2);
  });
});

describe('process --daemon --retain', () => {
  it('prunes at start and says so in one line', async () => {
    const home = tempHome();
    await oldAndNew(home);
    const d = execa(BIN, ['--home', home, 'process', '--daemon', '--retain', '30d'], {
      env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) },
      reject: false,
    });
    let left = 5;
    for (let i = 0; i < 100 && left > 1; i++) {
      await sleep(100);
      left = (await json<any[]>(home, ['history'])).length;
    }
    d.kill('SIGTERM');
    const r = await d;
    expect(r.exitCode).toBe(0);
    expect(left).toBe(1);
    const lines = String(r.stdout)
      .split('\n')
      .filter((l) => l.includes('pruned'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/note +pruned 4 executions, 4 logs and 4 events \(.+\) older than 30d$/);
  });
});

describe('process --daemon --retain: its own runs', () => {
  it('prunes the runs the daemon itself recorded while it keeps running (found in review)', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'echo hi', 'event', 'ea']);
    const d = execa(BIN, ['--home', home, 'process', '--daemon', '--retain', '3s'], {
      env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...storeEnv(home) },
      reject: false,
    });
    for (let i = 0; i < 3; i++) await ok(home, ['trigger', 'ea']);
    let first: any[] = [];
    for (let i = 0; i < 50 && first.length < 3; i++) {
      await sleep(100);
      first = await json<any[]>(home, ['history']);
    }
    expect(first).toHaveLength(3);
    // Older than 3 s, and the daemon prunes every half retention: gone while it runs.
    let left = first.length;
    for (let i = 0; i < 100 && left > 0; i++) {
      await sleep(100);
      left = (await json<any[]>(home, ['history'])).length;
    }
    d.kill('SIGTERM');
    expect((await d).exitCode).toBe(0);
    expect(left).toBe(0);
    for (const x of first) expect((await cli(home, ['logs', x.execution_id])).code).toBe(2);
  }, 60_000);
});

describe('prune and the metrics', () => {
  /** The counter samples of the exposition (executions by task and status, the histogram's count and sum). */
  const counted = async (home: string) => {
    const text = await ok(home, ['stats', '--format', 'prometheus']);
    return text
      .split('\n')
      .filter((l) =>
        /^conductor_(executions_total|execution_duration_seconds_(count|sum|bucket)|task_duration_seconds_(count|sum))\{/.test(l),
      )
      .map((l) => l.replace(/home="[^"]*",?/, ''));
  };

  it('counters never go down when prune removes history, and count each execution once', async () => {
    const home = tempHome();
    await oldAndNew(home);
    await ok(home, ['create', 'bad', 'Bad', 'exit 2', 'event', 'ebad']);
    await runAt(home, 'ebad', OLD[1]);
    const before = await counted(home);
    expect(before).toContain('conductor_executions_total{task="a",status="success"} 4');
    expect(before).toContain('conductor_executions_total{task="bad",status="failed"} 1');
    expect(before).toContain('conductor_execution_duration_seconds_count{} 6');
    expect((await json(home, ['prune', '--older-than', '30d'])).executions).toBe(5);
    expect(await json<any[]>(home, ['history'])).toHaveLength(1);
    expect(await counted(home)).toEqual(before);
    // Again: nothing left to prune, nothing counted twice.
    await ok(home, ['prune', '--older-than', '1ms']);
    expect(await counted(home)).toEqual(before);
    await runAt(home, 'ebad');
    const after = await counted(home);
    expect(after).toContain('conductor_executions_total{task="bad",status="failed"} 2');
    expect(after).toContain('conductor_execution_duration_seconds_count{} 7');
  });
});
