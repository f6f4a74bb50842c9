import { execa } from 'execa';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, BIN, cli, idleReadings, json, ok, readLines, tempHome, workDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: () => Promise<T> | T, okay: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (okay(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting; last value ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

function background(home: string, args: string[]) {
  return execa(BIN, ['--home', home, ...args], {
    env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) },
    reject: false,
  });
}

describe('retries and the dead-letter queue', () => {
  it('retries with backoff, shows every attempt, then dead-letters; dlq retry and purge', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'attempts.txt');
    await ok(home, [
      'create',
      'flaky',
      'Flaky',
      `echo "attempt $CONDUCTOR_ATTEMPT" | tee -a ${log}; exit 7`,
      'event',
      'never',
      '--retries',
      '2',
      '--backoff',
      '1s',
      '--breaker-threshold',
      '10',
    ]);
    const id = (await ok(home, ['queue', 'flaky'])).trim();
    await ok(home, ['process']);
    let [e] = await json<any[]>(home, ['status']);
    expect(e).toMatchObject({ entry_id: id, attempt: 2, status: 'queued' });
    expect(Date.parse(e.not_before)).toBeGreaterThan(Date.now() - 1000);
    // Backoff 1 s doubling with equal jitter: attempt 2 after 0.5-1 s, attempt 3 after 1-2 s.
    await sleep(1100);
    await ok(home, ['process']);
    await sleep(2100);
    await ok(home, ['process']);
    expect(readLines(log)).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
    const hist = await json<any[]>(home, ['history', 'flaky']);
    expect(hist.map((x) => x.attempt).sort()).toEqual([1, 2, 3]);
    expect(hist.every((x) => x.status === 'failed' && x.exit_code === 7 && x.entry_id === id)).toBe(true);
    expect(await json(home, ['status'])).toEqual([]);
    const dlq = await json<any[]>(home, ['dlq', 'list']);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({ entry_id: id, task_id: 'flaky', last_exit_code: 7 });
    expect(dlq[0].log_tail).toContain('attempt 3');
    expect((await json(home, ['stats'])).dlq).toBe(1);
    await ok(home, ['dlq', 'retry', id]);
    [e] = await json<any[]>(home, ['status']);
    expect(e).toMatchObject({ entry_id: id, attempt: 1 });
    expect(await json(home, ['dlq', 'list'])).toEqual([]);
    await ok(home, ['process']);
    expect((await json<any[]>(home, ['history', 'flaky'])).length).toBe(4);
    expect((await cli(home, ['dlq', 'retry', 'nope'])).code).toBe(2);
    await sleep(1100);
    await ok(home, ['process']);
    await sleep(2100);
    await ok(home, ['process']);
    expect(await json(home, ['dlq', 'list'])).toHaveLength(1);
    await ok(home, ['dlq', 'purge']);
    expect(await json(home, ['dlq', 'list'])).toEqual([]);
  });

  it('a timeout counts as a failure and is retried per the policy', async () => {
    const home = tempHome();
    await ok(home, [
      'create',
      'slow',
      'Slow',
      'sleep 5',
      'event',
      'never',
      '--timeout',
      '300ms',
      '--retries',
      '1',
      '--backoff',
      '1ms',
    ]);
    await ok(home, ['queue', 'slow']);
    await ok(home, ['process', '--grace', '200ms']);
    await sleep(50);
    await ok(home, ['process', '--grace', '200ms']);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => x.status)).toEqual(['timeout', 'timeout']);
    expect(await json<any[]>(home, ['dlq', 'list'])).toHaveLength(1);
  });

  it('named retry policies set the attempts', async () => {
    const home = tempHome();
    await ok(home, ['create', 's', 'S', 'false', 'event', 'e', '--retry-policy', 'standard']);
    await ok(home, ['create', 'a', 'A', 'false', 'event', 'e', '--retry-policy', 'aggressive']);
    await ok(home, ['create', 'n', 'N', 'false', 'event', 'e']);
    expect((await json(home, ['get', 's'])).max_attempts).toBe(3);
    expect((await json(home, ['get', 'a'])).max_attempts).toBe(5);
    expect((await json(home, ['get', 'n'])).max_attempts).toBe(1);
    expect((await cli(home, ['create', 'x', 'X', 'false', 'event', 'e', '--retry-policy', 'sometimes'])).code).toBe(2);
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, skips runs while open, closes after a good trial', async () => {
    const home = tempHome();
    const flag = path.join(workDir(home), 'healthy');
    await ok(home, [
      'create',
      'svc',
      'Svc',
      `test -f ${flag}`,
      'event',
      'never',
      '--breaker-threshold',
      '2',
      '--breaker-cooldown',
      '3s',
    ]);
    for (let i = 0; i < 4; i++) await ok(home, ['queue', 'svc']);
    await ok(home, ['process', '--max-concurrent', '1']);
    const hist = await json<any[]>(home, ['history', 'svc']);
    expect(hist.map((x) => x.status).sort()).toEqual(['failed', 'failed', 'skipped', 'skipped']);
    expect(hist.find((x) => x.status === 'skipped').error).toMatch(/circuit breaker 'svc' is open/);
    expect((await json(home, ['get', 'svc'])).breaker_state).toBe('open');
    expect((await json(home, ['stats'])).breakers_open).toBe(1);
    await sleep(3100);
    expect((await json(home, ['get', 'svc'])).breaker_state).toBe('half-open');
    fs.writeFileSync(flag, '');
    await ok(home, ['queue', 'svc']);
    await ok(home, ['process']);
    expect((await json(home, ['get', 'svc'])).breaker_state).toBe('closed');
  });

  it('a failed trial opens it again; a shared breaker covers every schedule naming it', async () => {
    const home = tempHome();
    await ok(home, [
      'create',
      'a',
      'A',
      'false',
      'event',
      'never',
      '--circuit-breaker',
      'db',
      '--breaker-threshold',
      '1',
      '--breaker-cooldown',
      '1s',
    ]);
    await ok(home, ['create', 'b', 'B', 'true', 'event', 'never', '--circuit-breaker', 'db']);
    await ok(home, ['queue', 'a']);
    await ok(home, ['process']);
    expect((await json(home, ['get', 'b'])).breaker_state).toBe('open');
    await ok(home, ['queue', 'b']);
    await ok(home, ['process']);
    expect((await json<any[]>(home, ['history', 'b']))[0].status).toBe('skipped');
    await sleep(1100);
    await ok(home, ['queue', 'a']);
    await ok(home, ['process']);
    expect((await json(home, ['get', 'a'])).breaker_state).toBe('open');
  });
});

describe('cancel and pause', () => {
  it('cancels a queued entry and a running one (its whole group)', async () => {
    const home = tempHome();
    const pidFile = path.join(workDir(home), 'child.pid');
    await ok(home, ['create', 'long', 'Long', `sleep 300 & echo $! > ${pidFile}; wait`, 'event', 'never']);
    const queued = (await ok(home, ['queue', 'long'])).trim();
    expect((await ok(home, ['cancel', queued])).trim()).toMatch(/cancelled/);
    expect(await json(home, ['status'])).toEqual([]);
    const running = (await ok(home, ['queue', 'long'])).trim();
    const proc = background(home, ['process']);
    await until(
      () => json<any[]>(home, ['status']),
      (q) => q.length === 1 && q[0].status === 'running',
    );
    await until(
      () => fs.existsSync(pidFile),
      (v) => v,
    );
    await ok(home, ['cancel', running]);
    const r = await proc;
    expect(r.exitCode).toBe(0);
    const hist = await json<any[]>(home, ['history', 'long']);
    expect(hist.map((x) => x.status)).toEqual(['cancelled', 'cancelled']);
    expect(alive(Number(fs.readFileSync(pidFile, 'utf8')))).toBe(false);
    expect((await cli(home, ['cancel', 'no-such-entry'])).code).toBe(2);
  });

  it('a paused home starts nothing until resumed', async () => {
    const home = tempHome();
    await ok(home, ['create', 't', 'T', 'true', 'event', 'never']);
    await ok(home, ['queue', 't']);
    await ok(home, ['pause']);
    expect((await json(home, ['process'])).started).toBe(0);
    expect(await ok(home, ['status'])).toMatch(/paused/);
    expect((await json(home, ['stats'])).paused).toBe(true);
    await ok(home, ['resume']);
    expect((await json(home, ['process'])).succeeded).toBe(1);
  });
});

describe('crash recovery', () => {
  it('a kill -9 of process and of the run keeper: the next pass kills what is left, records abandoned, retries', async () => {
    const home = tempHome();
    const pidFile = path.join(workDir(home), 'handler.pid');
    const log = path.join(workDir(home), 'done.txt');
    await ok(home, [
      'create',
      'job',
      'Job',
      `if [ "$CONDUCTOR_ATTEMPT" = 1 ]; then echo $$ $PPID > ${pidFile}; sleep 300; fi; echo ok >> ${log}`,
      'event',
      'never',
      '--retries',
      '1',
      '--backoff',
      '1ms',
    ]);
    await ok(home, ['queue', 'job']);
    const proc = background(home, ['process']);
    await until(
      () => fs.existsSync(pidFile),
      (v) => v,
    );
    proc.kill('SIGKILL');
    await proc;
    const [handler, keeper] = fs.readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    expect(alive(handler)).toBe(true);
    // The keeper outlived its dispatcher; killed too, nobody knows how the run ends.
    expect(alive(keeper)).toBe(true);
    process.kill(keeper, 'SIGKILL');
    await until(
      () => alive(keeper),
      (v) => !v,
    );
    const s = await json(home, ['process']);
    expect(s.recovered).toBe(1);
    expect(alive(handler)).toBe(false);
    await sleep(50);
    await ok(home, ['process']);
    const hist = await json<any[]>(home, ['history', 'job']);
    expect(hist.map((x) => `${x.attempt}:${x.status}`).sort()).toEqual(['1:abandoned', '2:success']);
    expect(readLines(log)).toEqual(['ok']);
    expect(await json(home, ['status'])).toEqual([]);
  });
});
