// Runs outlive their dispatcher (issue 14): a dispatcher killed, stopped or restarted while handlers
// run kills none of them and runs none twice; the next dispatcher adopts each run and records it once,
// with its real result, start and duration. Real CLI, real processes, real files.
import { execa } from 'execa';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, BIN, cli, idleReadings, json, ok, readLines, storeEnv, tempHome, workDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds; fails with `what` at the deadline. */
async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Every process a test starts carries KEEPER_TEST_TAG (handlers inherit it, and carry
 * CONDUCTOR_HOME): after each test whatever is left of them (a killed pass's handlers, a daemon,
 * keepers, a stopped dispatcher) is found by its environment and killed by pid.
 */
const TAG = 'KEEPER_TEST_TAG';
const tags: { tag: string; home: string }[] = [];
type Child = ReturnType<typeof execa>;
const children: Child[] = [];

function tagOf(home: string): Record<string, string> {
  const tag = path.dirname(home);
  if (!tags.some((t) => t.tag === tag)) tags.push({ tag, home });
  return { [TAG]: tag };
}

function envFor(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...storeEnv(home), ...tagOf(home), ...extra };
}

/** A conductor command left running (a pass, a daemon); never rejects. */
function start(home: string, args: string[], extra: Record<string, string> = {}): Child {
  // No forced KILL after a TERM (execa's default, 5 s): a slow stop must show as slow, not as killed.
  const p = execa(BIN, ['--home', home, ...args], {
    env: envFor(home, extra),
    reject: false,
    cwd: path.dirname(home),
    forceKillAfterDelay: false,
  });
  children.push(p);
  return p;
}

/** The CLI, awaited, tagged like the rest. */
function run(home: string, args: string[], extra: Record<string, string> = {}) {
  return cli(home, args, { ...tagOf(home), ...extra });
}

function exited(p: Child): () => boolean {
  let done = false;
  void p.finally(() => (done = true));
  return () => done;
}

function pidsWithTag(tag: string, home: string): number[] {
  const needles = [Buffer.from(`${TAG}=${tag}\0`), Buffer.from(`CONDUCTOR_HOME=${home}\0`)];
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${name}/environ`);
      if (needles.some((n) => env.includes(n))) found.push(Number(name));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

afterEach(async () => {
  for (const { tag, home } of tags.splice(0)) {
    for (const pid of pidsWithTag(tag, home)) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const p of children.splice(0)) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    await p;
  }
});

/** A handler that leaves "pid start-ms" in starts.ID, sleeps, then its end time in done.ID. */
function marked(dir: string, id: string, seconds: number): string {
  return `echo "$$ $(date +%s%3N)" >> ${dir}/starts.${id}; sleep ${seconds}; date +%s%3N >> ${dir}/done.${id}`;
}

function startsOf(dir: string, id: string): { pid: number; ms: number }[] {
  return readLines(`${dir}/starts.${id}`).map((l) => {
    const [pid, ms] = l.split(' ').map(Number);
    return { pid, ms };
  });
}

const allStarted = (dir: string, ids: string[]) => () => ids.every((id) => startsOf(dir, id).length >= 1);
const allDone = (dir: string, ids: string[]) => () => ids.every((id) => readLines(`${dir}/done.${id}`).length >= 1);

/** Each run recorded once, successful, with the start and end its handler saw, and run once only. */
async function expectRealSuccesses(home: string, dir: string, ids: string[], seconds: number): Promise<void> {
  const hist = await json<any[]>(home, ['history', '--limit', '100']);
  expect(hist.map((x) => `${x.task_id}:${x.status}`).sort()).toEqual(ids.map((id) => `${id}:success`).sort());
  for (const id of ids) {
    const x = hist.find((h) => h.task_id === id);
    const starts = startsOf(dir, id);
    expect(starts, `${id} ran more than once`).toHaveLength(1);
    expect(readLines(`${dir}/done.${id}`)).toHaveLength(1);
    expect(x.exit_code).toBe(0);
    // The real start and end, not the time the run was adopted.
    expect(Math.abs(Date.parse(x.started_at) - starts[0].ms), `${id} started_at ${x.started_at}`).toBeLessThan(1500);
    const doneMs = Number(readLines(`${dir}/done.${id}`)[0]);
    expect(Math.abs(Date.parse(x.finished_at) - doneMs), `${id} finished_at ${x.finished_at}`).toBeLessThan(1500);
    expect(x.duration_ms).toBeGreaterThanOrEqual(seconds * 1000 - 100);
    expect(x.duration_ms).toBeLessThan(seconds * 1000 + 1500);
  }
  expect(await json<any[]>(home, ['status'])).toEqual([]);
}

const LAUNCHERS: [string, Record<string, string>][] = [
  ['perl helper', {}],
  ['node spawn', { CONDUCTOR_SPAWNER: 'node' }],
];

describe.each(LAUNCHERS)('a dispatcher killed while its handlers run (%s)', (_name, launcherEnv) => {
  it('kill -9 of a pass: no handler killed, none re-run; the next pass records each once with its real result', async () => {
    const home = tempHome();
    const dir = workDir(home);
    const ids = ['a', 'b', 'c'];
    for (const id of ids) await ok(home, ['create', id, id, marked(dir, id, 2), 'event', 'never']);
    for (const id of ids) await ok(home, ['queue', id]);
    const pass = start(home, ['process', '--max-concurrent', '4'], launcherEnv);
    await waitFor('the 3 handlers to start', allStarted(dir, ids), 20_000);
    pass.kill('SIGKILL');
    expect((await pass).signal).toBe('SIGKILL');
    // They finish on their own, nobody watching: proof they were not killed with their dispatcher.
    await waitFor('the handlers to finish on their own', allDone(dir, ids), 15_000);
    // Long enough that a duration measured to the adoption, not to the handler's end, would show.
    await sleep(2000);
    const next = await run(home, ['process'], launcherEnv);
    expect(next.code, next.stderr).toBe(0);
    await expectRealSuccesses(home, dir, ids, 2);
    expect((await json<any[]>(home, ['history', '--limit', '100'])).some((x) => x.status === 'abandoned')).toBe(false);
  });

  it('a handler still running when its pass dies is re-attached: the next pass waits for it and records it once', async () => {
    const home = tempHome();
    const dir = workDir(home);
    const ids = ['a', 'b', 'c'];
    for (const id of ids) await ok(home, ['create', id, id, marked(dir, id, 3), 'event', 'never']);
    for (const id of ids) await ok(home, ['queue', id]);
    const pass = start(home, ['process', '--max-concurrent', '4'], launcherEnv);
    await waitFor('the 3 handlers to start', allStarted(dir, ids), 20_000);
    pass.kill('SIGKILL');
    await pass;
    const next = await run(home, ['process'], launcherEnv);
    expect(next.code, next.stderr).toBe(0);
    // It returned only once they had finished, and did not kill them.
    expect(
      ids.filter((id) => readLines(`${dir}/done.${id}`).length === 0),
      'handlers that never finished (killed?) when the pass returned',
    ).toEqual([]);
    await expectRealSuccesses(home, dir, ids, 3);
  });
});

describe.each(LAUNCHERS)('a daemon killed or restarted while its handlers run (%s)', (_name, launcherEnv) => {
  it('kill -9 of the daemon: a new daemon adopts and records each run once with its real result', async () => {
    const home = tempHome();
    const dir = workDir(home);
    const ids = ['a', 'b', 'c'];
    for (const id of ids) await ok(home, ['create', id, id, marked(dir, id, 2), 'event', 'never']);
    for (const id of ids) await ok(home, ['queue', id]);
    const first = start(home, ['process', '--daemon'], launcherEnv);
    await waitFor('the 3 handlers to start', allStarted(dir, ids), 20_000);
    first.kill('SIGKILL');
    await first;
    await waitFor('the handlers to finish on their own', allDone(dir, ids), 15_000);
    await sleep(2000);
    const second = start(home, ['process', '--daemon'], launcherEnv);
    const gone = exited(second);
    await waitFor(
      'the new daemon to record the 3 runs',
      async () => gone() || (await json<any[]>(home, ['history', '--limit', '100'])).length >= 3,
      15_000,
      250,
    );
    second.kill('SIGTERM');
    const r = await second;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    await expectRealSuccesses(home, dir, ids, 2);
  });

  it('SIGTERM: the daemon exits at once and leaves its handler running; the next dispatcher records it once', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'backup', 'Backup', marked(dir, 'backup', 5), 'event', 'never']);
    await ok(home, ['queue', 'backup']);
    const d = start(home, ['process', '--daemon'], launcherEnv);
    await waitFor('the handler to start', allStarted(dir, ['backup']), 20_000);
    const pid = startsOf(dir, 'backup')[0].pid;
    const t0 = Date.now();
    d.kill('SIGTERM');
    const r = await d;
    const took = Date.now() - t0;
    const doneAtExit = fs.existsSync(`${dir}/done.backup`);
    const aliveAtExit = alive(pid);
    expect(took, 'the daemon waited for its handler').toBeLessThan(3000);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(doneAtExit).toBe(false);
    expect(aliveAtExit).toBe(true);
    await waitFor('the handler to finish on its own', allDone(dir, ['backup']), 15_000);
    const next = await run(home, ['process'], launcherEnv);
    expect(next.code, next.stderr).toBe(0);
    await expectRealSuccesses(home, dir, ['backup'], 5);
  });

  it('SIGTERM with --on-stop stop: the running handler and its children are stopped and recorded abandoned', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, [
      'create',
      'hang',
      'Hang',
      `echo $$ > ${dir}/hang.pid; sleep 300 & echo $! > ${dir}/child.pid; wait`,
      'event',
      'never',
    ]);
    await ok(home, ['queue', 'hang']);
    const d = start(home, ['process', '--daemon', '--on-stop', 'stop', '--grace', '500ms'], launcherEnv);
    const gone = exited(d);
    await waitFor('the handler to start', () => gone() || readLines(`${dir}/child.pid`).length > 0, 20_000);
    if (gone()) {
      const r = await d;
      throw new Error(`the daemon exited ${r.exitCode} before its handler started: ${String(r.stderr).trim()}`);
    }
    const pids = [Number(readLines(`${dir}/hang.pid`)[0]), Number(readLines(`${dir}/child.pid`)[0])];
    d.kill('SIGTERM');
    const r = await d;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    await waitFor('the handler and its child to be gone', () => !pids.some(alive), 5000);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => x.status)).toEqual(['abandoned']);
    expect(await json<any[]>(home, ['status'])).toEqual([]);
  });
});

describe.each(LAUNCHERS)('a handler that kills its launcher (%s)', (_name, launcherEnv) => {
  const others = ['o1', 'o2', 'o3'];

  async function setUp(home: string, dir: string, killer: string): Promise<void> {
    for (const id of others) await ok(home, ['create', id, id, `sleep 2; echo ok >> ${dir}/ok.${id}`, 'event', 'never']);
    await ok(home, ['create', 'killer', 'Killer', `${killer}; sleep 1; echo after >> ${dir}/killer`, 'event', 'never']);
    // The killer last: everything else has been launched when it strikes.
    for (const id of others) await ok(home, ['queue', id]);
    await ok(home, ['queue', 'killer']);
  }

  /** The other runs: each recorded once as a success, each run once; nothing blames a helper. */
  async function expectOthersUntouched(home: string, dir: string): Promise<any[]> {
    const hist = await json<any[]>(home, ['history', '--limit', '100']);
    for (const id of others) {
      expect(
        hist.filter((x) => x.task_id === id).map((x) => x.status),
        `${id}: ${JSON.stringify(hist.filter((x) => x.task_id === id).map((x) => x.error))}`,
      ).toEqual(['success']);
      expect(readLines(`${dir}/ok.${id}`), `${id} ran once`).toEqual(['ok']);
    }
    expect(hist.filter((x) => /spawner helper exited/.test(x.error ?? '')).map((x) => x.task_id)).toEqual([]);
    expect(hist.filter((x) => x.task_id === 'killer')).toHaveLength(1);
    expect(readLines(`${dir}/killer`).length).toBeLessThanOrEqual(1);
    expect(await json<any[]>(home, ['status'])).toEqual([]);
    return hist;
  }

  it('kill -9 $PPID affects only its own run', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await setUp(home, dir, 'kill -9 $PPID');
    const r = await run(home, ['process', '--max-concurrent', '4'], launcherEnv);
    expect(r.code, `process: ${r.stderr}`).toBe(0);
    const hist = await expectOthersUntouched(home, dir);
    expect(hist.find((x) => x.task_id === 'killer').status).not.toBe('success');
  });

  it("kill -9 of its grandparent (the launcher helper) leaves the other runs' results alone", async () => {
    const home = tempHome();
    const dir = workDir(home);
    // Never the test runner itself (the dispatcher's parent) nor init.
    const killer = `gp=$(ps -o ppid= -p $PPID | tr -d ' '); echo "$gp" >> ${dir}/gp; if [ "$gp" -gt 1 ] && [ "$gp" -ne ${process.pid} ]; then kill -9 "$gp"; fi`;
    await setUp(home, dir, killer);
    // The grandparent may be the dispatcher itself (no helper): then the pass dies, and the next one adopts.
    await run(home, ['process', '--max-concurrent', '4'], launcherEnv);
    await waitFor('the other handlers to finish', () => others.every((id) => fs.existsSync(`${dir}/ok.${id}`)), 15_000);
    const next = await run(home, ['process', '--max-concurrent', '4'], launcherEnv);
    expect(next.code, `process: ${next.stderr}`).toBe(0);
    await expectOthersUntouched(home, dir);
  });
});

describe.each(LAUNCHERS)('a stopped dispatcher (%s)', (_name, launcherEnv) => {
  it('SIGSTOP past a timeout: the timeout is enforced without it, and a run that ended meanwhile is not a timeout', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'slow', 'Slow', `echo $$ > ${dir}/slow.pid; exec sleep 30`, 'event', 'never', '--timeout', '2s']);
    await ok(home, ['create', 'quick', 'Quick', `echo $$ > ${dir}/quick.pid; sleep 1`, 'event', 'never']);
    await ok(home, ['queue', 'slow']);
    await ok(home, ['queue', 'quick']);
    const pass = start(home, ['process', '--max-concurrent', '4', '--grace', '1s'], launcherEnv);
    await waitFor(
      'both handlers to start',
      () => ['slow', 'quick'].every((id) => readLines(`${dir}/${id}.pid`).length > 0),
      20_000,
    );
    const slowPid = Number(readLines(`${dir}/slow.pid`)[0]);
    process.kill(pass.pid!, 'SIGSTOP');
    let slowAliveWhileStopped: boolean;
    try {
      await sleep(5000);
      slowAliveWhileStopped = alive(slowPid);
    } finally {
      process.kill(pass.pid!, 'SIGCONT');
    }
    const r = await pass;
    expect(slowAliveWhileStopped, 'the timed-out handler still ran while its dispatcher was stopped').toBe(false);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const hist = await json<any[]>(home, ['history']);
    const slow = hist.find((x) => x.task_id === 'slow');
    const quick = hist.find((x) => x.task_id === 'quick');
    expect(hist).toHaveLength(2);
    expect(slow.status).toBe('timeout');
    // Its 2 s, not the 5 s its dispatcher was stopped for.
    expect(slow.duration_ms).toBeGreaterThanOrEqual(1500);
    expect(slow.duration_ms).toBeLessThan(4000);
    expect(quick.status).toBe('success');
    expect(quick.duration_ms).toBeGreaterThanOrEqual(900);
    expect(quick.duration_ms).toBeLessThan(2500);
  });
});

describe.each(LAUNCHERS)('process --no-wait (%s)', (_name, launcherEnv) => {
  it('starts what it can and exits; later passes adopt the run, retry it and emit its events', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, [
      'create',
      'longish',
      'Longish',
      `echo $$ >> ${dir}/longish.pids; sleep 3; exit 1`,
      'event',
      'never',
      '--retries',
      '1',
      '--backoff',
      '1s',
    ]);
    await ok(home, ['create', 'after', 'After', `echo "$CONDUCTOR_PAYLOAD" >> ${dir}/after`, 'event', 'task.failed:longish']);
    await ok(home, ['queue', 'longish']);
    const t0 = Date.now();
    const r = await run(home, ['process', '--no-wait', '--json'], launcherEnv);
    const took = Date.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    // A Node keeper may still be starting when the pass is gone: it starts the handler all the same.
    await waitFor('the handler to start', () => readLines(`${dir}/longish.pids`).length > 0);
    const pid = Number(readLines(`${dir}/longish.pids`)[0]);
    expect(alive(pid), 'the handler runs on after the pass').toBe(true);
    expect(took).toBeLessThan(2500);
    expect(JSON.parse(r.stdout).started).toBe(1);

    // Plain passes, as a crontab would run them, until the retry and both events are through.
    const deadline = Date.now() + 25_000;
    for (;;) {
      const p = await run(home, ['process'], launcherEnv);
      expect(p.code, p.stderr).toBe(0);
      const longish = await json<any[]>(home, ['history', 'longish']);
      const idle = (await json<any[]>(home, ['status'])).length === 0;
      if (longish.length >= 2 && readLines(`${dir}/after`).length >= 2 && idle) break;
      if (Date.now() > deadline)
        throw new Error(
          `after 25 s: longish ${JSON.stringify(longish.map((x) => x.status))}, listener ran ${readLines(`${dir}/after`).length} time(s)`,
        );
      await sleep(300);
    }
    const longish = await json<any[]>(home, ['history', 'longish']);
    expect(longish.map((x) => [x.attempt, x.status, x.exit_code])).toEqual([
      [2, 'failed', 1],
      [1, 'failed', 1],
    ]);
    expect(longish[1].duration_ms).toBeGreaterThanOrEqual(2900);
    expect(longish[1].duration_ms).toBeLessThan(4500);
    expect(readLines(`${dir}/longish.pids`), 'each attempt ran once').toHaveLength(2);
    const payloads = readLines(`${dir}/after`).map((l) => JSON.parse(l));
    expect(payloads.map((p) => [p.task_id, p.status]).sort()).toEqual([
      ['longish', 'failed'],
      ['longish', 'failed'],
    ]);
    expect(new Set(payloads.map((p) => p.execution_id))).toEqual(new Set(longish.map((x) => x.execution_id)));
    expect((await json<any[]>(home, ['history', 'after'])).map((x) => x.status)).toEqual(['success', 'success']);
    expect(await json<any[]>(home, ['dlq', 'list'])).toHaveLength(1);
  });

  it('says how many it started, in text too', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'a', 'A', marked(dir, 'a', 2), 'event', 'never']);
    await ok(home, ['create', 'b', 'B', marked(dir, 'b', 2), 'event', 'never']);
    await ok(home, ['queue', 'a']);
    await ok(home, ['queue', 'b']);
    const r = await run(home, ['process', '--no-wait'], launcherEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\b2 started\b/);
    expect(allDone(dir, ['a', 'b'])()).toBe(false);
    await waitFor('the handlers to finish on their own', allDone(dir, ['a', 'b']), 15_000);
    const next = await run(home, ['process'], launcherEnv);
    expect(next.code, next.stderr).toBe(0);
    await expectRealSuccesses(home, dir, ['a', 'b'], 2);
  });
});

describe.each(LAUNCHERS)('a run whose dispatcher is gone (%s)', (_name, launcherEnv) => {
  it('cancel stops it through its keeper and records it cancelled, once', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'long', 'Long', `echo $$ > ${dir}/pid; sleep 60`, 'event', 'never']);
    await ok(home, ['queue', 'long']);
    const pass = start(home, ['process', '--no-wait'], launcherEnv);
    await pass;
    await waitFor('the handler to start', () => fs.existsSync(`${dir}/pid`));
    const handler = Number(fs.readFileSync(`${dir}/pid`, 'utf8'));
    const [entry] = await json<any[]>(home, ['status']);
    const t0 = Date.now();
    const r = await run(home, ['cancel', entry.entry_id, '--json'], launcherEnv);
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(alive(handler)).toBe(false);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => x.status)).toEqual(['cancelled']);
    expect(hist[0].duration_ms).toBeGreaterThan(0);
    expect(await json<any[]>(home, ['status'])).toEqual([]);
    // Nobody runs it again.
    expect((await json<any>(home, ['process'], launcherEnv)).started).toBe(0);
  });

  it('a run whose schedule was deleted meanwhile is still recorded, once, with its result', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'gone', 'Gone', marked(dir, 'gone', 1), 'event', 'never']);
    await ok(home, ['queue', 'gone']);
    await start(home, ['process', '--no-wait'], launcherEnv);
    await waitFor('the handler to start', allStarted(dir, ['gone']));
    await ok(home, ['delete', 'gone']);
    await waitFor('the handler to end', allDone(dir, ['gone']));
    const s = await json<any>(home, ['process'], launcherEnv);
    expect(s.succeeded).toBe(1);
    const hist = await json<any[]>(home, ['history', '--limit', '10']);
    expect(hist.map((x) => `${x.task_id}:${x.status}`)).toEqual(['gone:success']);
  });
});

describe('the keeper pool', () => {
  it('a keeper busy with a long run never holds up the start of others (found in review)', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'long', 'Long', marked(dir, 'long', 60), 'event', 'never', '--priority', '10']);
    await ok(home, ['queue', 'long']);
    const pass = start(home, ['process', '--max-concurrent', '20']);
    await waitFor('the long run to start', allStarted(dir, ['long']), 20_000);
    // Each schedule's environment reaches the launcher once, and the keepers that use it: 12
    // environments of 8 KiB would fill the pipe of a keeper that does not read while it runs.
    const big = 'x'.repeat(8192);
    const ids = Array.from({ length: 12 }, (_, i) => `q${i}`);
    for (const id of ids) await ok(home, ['create', id, id, marked(dir, id, 0), 'event', 'never', '--env', `BIG=${big}`]);
    for (const id of ids) await ok(home, ['queue', id]);
    await waitFor('the other runs to start while the long one runs', allStarted(dir, ids), 10_000);
    expect(readLines(`${dir}/done.long`)).toHaveLength(0);
    const long = (await json<any[]>(home, ['status'])).find((e) => e.task_id === 'long');
    await ok(home, ['cancel', long.entry_id]);
    await pass;
    const hist = await json<any[]>(home, ['history', '--limit', '100']);
    expect(
      hist
        .filter((x) => x.status === 'success')
        .map((x) => x.task_id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(hist.find((x) => x.task_id === 'long').status).toBe('cancelled');
  });
});

describe('one home reached by two paths', () => {
  it('a pass through a linked parent folder and one through the real path share the runs (found in review)', async () => {
    const home = tempHome();
    const dir = workDir(home);
    const link = path.join(path.dirname(home), 'via-link');
    fs.mkdirSync(home, { recursive: true });
    fs.symlinkSync(path.dirname(home), link);
    const linked = path.join(link, path.basename(home));
    await ok(home, ['create', 'one', 'One', marked(dir, 'one', 2), 'event', 'never']);
    await ok(home, ['queue', 'one']);
    await cli(linked, ['process', '--no-wait'], { ...tagOf(home), ...storeEnv(home) });
    await waitFor('the handler to start', allStarted(dir, ['one']));
    const r = await run(home, ['process']);
    expect(r.code, r.stderr).toBe(0);
    await expectRealSuccesses(home, dir, ['one'], 2);
  });
});
