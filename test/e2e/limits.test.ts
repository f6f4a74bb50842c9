import { execa } from 'execa';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as time from '../../src/time.js';
import {
  alive,
  BIN,
  cli,
  idleReadings,
  json,
  ok,
  readLines,
  stateDigest,
  STORE,
  storeEnv,
  tempHome,
  workDir,
} from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LAUNCHERS: [string, Record<string, string>][] = [
  ['perl helper', {}],
  ['node spawn', { CONDUCTOR_SPAWNER: 'node' }],
];

function envOf(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...storeEnv(home), ...extra };
}

/** Runs conductor under `sh -c 'ulimit ...; exec conductor ...'`, so the limits are the process's own. */
async function underUlimit(home: string, ulimits: string, args: string[], extra: Record<string, string> = {}) {
  const quoted = [BIN, '--home', home, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = await execa('sh', ['-c', `${ulimits}; exec ${quoted}`], {
    env: envOf(home, extra),
    reject: false,
    cwd: path.dirname(home),
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('one daemon per home', () => {
  // Old code: the stale pid file was moved aside by rename, and a starter that had read the stale
  // file could rename away the new holder's file: two daemons in about 1 round of 17.
  it('a stale pid file and 12 daemons started at once: exactly one survives, every round', async () => {
    const rounds = Number(process.env.CONDUCTOR_TEST_DAEMON_ROUNDS) || 12;
    const home = tempHome();
    await ok(home, ['create', 'x', 'X', 'true', 'event', 'never']);
    const pidFile = path.join(home, 'state', 'daemon.pid');
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
    const survivorsPerRound: number[] = [];
    const loserErrors = new Set<string>();
    for (let round = 0; round < rounds; round++) {
      // A daemon that died without cleaning up: its pid is gone (beyond pid_max).
      fs.writeFileSync(pidFile, JSON.stringify({ pid: 4_999_999, token: `${boot}.4999999.1`, host: 'h' }) + '\n');
      const ds = Array.from({ length: 12 }, () =>
        execa(BIN, ['--home', home, 'process', '--daemon'], { env: envOf(home), reject: false }),
      );
      const exited = new Set<number>();
      ds.forEach((d, i) => void d.then(() => exited.add(i)));
      const t0 = Date.now();
      while (exited.size < 11 && Date.now() - t0 < 8000) await sleep(50);
      await sleep(500);
      const living = ds.filter((d) => d.pid && alive(d.pid));
      survivorsPerRound.push(living.length);
      for (const d of ds) if (d.pid && alive(d.pid)) d.kill('SIGTERM');
      const results = await Promise.all(ds);
      for (const r of results.filter((x) => x.exitCode !== 0)) loserErrors.add(String(r.stderr).replace(/\d+/g, 'N'));
    }
    expect(survivorsPerRound).toEqual(Array(rounds).fill(1));
    expect([...loserErrors]).toEqual(['conductor: a daemon is already running on this home (pid N)']);
  }, 300_000);

  it('the lock dies with the daemon: a killed daemon leaves a stale pid file, and the next daemon starts', async () => {
    const home = tempHome();
    const d1 = execa(BIN, ['--home', home, 'process', '--daemon'], { env: envOf(home), reject: false });
    const pidFile = path.join(home, 'state', 'daemon.pid');
    for (let i = 0; i < 50 && !fs.existsSync(pidFile); i++) await sleep(100);
    const second = await cli(home, ['process', '--daemon']);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`conductor: a daemon is already running on this home (pid ${d1.pid})\n`);
    d1.kill('SIGKILL');
    await d1;
    expect(fs.existsSync(pidFile)).toBe(true);
    const d2 = execa(BIN, ['--home', home, 'process', '--daemon'], { env: envOf(home), reject: false });
    for (let i = 0; i < 50 && !(fs.existsSync(pidFile) && JSON.parse(fs.readFileSync(pidFile, 'utf8')).pid === d2.pid); i++)
      await sleep(100);
    expect(JSON.parse(fs.readFileSync(pidFile, 'utf8')).pid).toBe(d2.pid);
    d2.kill('SIGTERM');
    expect((await d2).exitCode).toBe(0);
  });
});

describe('big durations are honoured or refused', () => {
  it('parseDuration: the maximum is 3650 days', () => {
    expect((time as any).MAX_DURATION_MS).toBe(3650 * 86_400_000);
    expect(time.parseDuration('3650d')).toBe(3650 * 86_400_000);
    expect(() => time.parseDuration('3651d', 'timeout')).toThrow(/invalid timeout '3651d': at most 3650 days/);
    expect(() => time.parseDuration('99999999999d', 'interval')).toThrow(/at most 3650 days/);
    expect(() => time.parseDuration('1e400')).toThrow();
  });

  it('--timeout 30d does not fire early', async () => {
    const home = tempHome();
    await ok(home, ['create', 'long', 'Long', 'sleep 2; echo done', 'event', 'never', '--timeout', '30d']);
    await ok(home, ['queue', 'long']);
    const r = await cli(home, ['process']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/TimeoutOverflowWarning/);
    const [x] = await json<any[]>(home, ['history']);
    expect(x).toMatchObject({ status: 'success', exit_code: 0 });
  });

  it('--grace 30d: no KILL follows the TERM within seconds', async () => {
    const home = tempHome();
    const dir = workDir(home);
    // The shell and its sleep ignore TERM (ignored signals stay ignored across exec).
    await ok(home, [
      'create',
      'deaf',
      'Deaf',
      `trap '' TERM; sleep 2.5; echo survived > ${dir}/out`,
      'event',
      'never',
      '--timeout',
      '1s',
    ]);
    await ok(home, ['queue', 'deaf']);
    const r = await cli(home, ['process', '--grace', '30d']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/TimeoutOverflowWarning/);
    expect(readLines(`${dir}/out`)).toEqual(['survived']);
    expect((await json<any[]>(home, ['history']))[0].status).toBe('timeout');
  });

  it('absurd durations, intervals and dates are refused with exit 2 and change nothing', async () => {
    const home = tempHome();
    await ok(home, ['create', 'x', 'X', 'true', 'event', 'never']);
    const before = await stateDigest(home);
    const refusals: [string[], RegExp][] = [
      [['create', 'i', 'I', 'true', 'interval', '99999999999d'], /invalid interval '99999999999d': at most 3650 days/],
      [['create', 'i', 'I', 'true', 'interval', '3651 days'], /at most 3650 days/],
      [['create', 'o', 'O', 'true', 'once', '0050-06-01T00:00:00'], /invalid once timestamp '0050-06-01T00:00:00': .*1970.*9999/],
      [['create', 'o', 'O', 'true', 'once', '1969-12-31T23:59:59Z'], /1970.*9999/],
      [['create', 'o', 'O', 'true', 'once', '9999-12-31T23:00:00-05:00'], /1970.*9999/],
      [['create', 't', 'T', 'true', 'event', 'e', '--timeout', '4000d'], /invalid timeout '4000d': at most 3650 days/],
      [['create', 't', 'T', 'true', 'event', 'e', '--backoff', '4000d'], /invalid backoff '4000d': at most 3650 days/],
      [['process', '--grace', '4000d'], /invalid grace '4000d': at most 3650 days/],
      [['process', '--starvation-threshold', '4000d'], /at most 3650 days/],
      [['status', '--starvation-threshold', '4000d'], /at most 3650 days/],
      [['health', '--max-age', '4000d'], /at most 3650 days/],
      [['next', '* * * * *', '--from', '0050-01-01T00:00:00Z'], /invalid --from .*1970.*9999/],
    ];
    for (const [args, msg] of refusals) {
      const r = await cli(home, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(msg);
      expect(r.stderr.split('\n').filter(Boolean), args.join(' ')).toHaveLength(1);
    }
    expect(await stateDigest(home)).toBe(before);
    // The largest accepted values still work.
    await ok(home, ['create', 'i', 'I', 'true', 'interval', '3650d']);
    await ok(home, ['create', 'o', 'O', 'true', 'once', '9999-12-31T23:59:59Z']);
    expect((await json(home, ['get', 'o'])).next_execution).toBe('9999-12-31T23:59:59+00:00');
  });
});

describe.each(LAUNCHERS)('descriptor limits, launching through the %s', (_name, launcher) => {
  async function drain(home: string, n: number, ulimits: string) {
    const dir = workDir(home);
    await ok(home, ['create', 's', 'S', `echo $CONDUCTOR_ENTRY_ID >> ${dir}/out; echo hello; sleep 0.3`, 'event', 'never']);
    await ok(home, ['queue', 's', '--count', String(n)]);
    const r = await underUlimit(home, ulimits, ['process', '--max-concurrent', '500'], launcher);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ids = readLines(`${dir}/out`);
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.filter((x) => x.status === 'success')).toHaveLength(n);
    expect(await json<any[]>(home, ['status'])).toEqual([]);
    if (STORE === 'file') expect(fs.readdirSync(path.join(home, 'running'))).toEqual([]);
    // Said once: one note naming the cap.
    expect(r.stdout.split('\n').filter((l) => /descriptors/.test(l))).toHaveLength(1);
    return r;
  }

  it('open files 1024: 400 entries at --max-concurrent 500 all run once', async () => {
    const r = await drain(tempHome(), 400, 'ulimit -Sn 1024; ulimit -Hn 1024');
    expect(r.stdout).toMatch(/note +running at most \d+ at once: 1024 open file descriptors allowed/);
  }, 120_000);

  it('open files 256: 200 entries all run once', async () => {
    await drain(tempHome(), 200, 'ulimit -Sn 256; ulimit -Hn 256');
  }, 120_000);

  it('a soft limit below the hard one is raised to it', async () => {
    const home = tempHome();
    await ok(home, ['create', 's', 'S', 'grep "open files" /proc/$$/limits', 'event', 'never']);
    await ok(home, ['queue', 's']);
    const r = await underUlimit(home, 'ulimit -Sn 256; ulimit -Hn 4096', ['process'], launcher);
    expect(r.code).toBe(0);
    const [x] = await json<any[]>(home, ['history']);
    // The handler inherits the raised limit; what it reads is the whole story.
    expect(await ok(home, ['logs', x.execution_id])).toMatch(/open files\s+4096\s+4096/);
  });
});

describe.each(LAUNCHERS)('argument limits, launching through the %s', (_name, launcher) => {
  const bigJson = (bytes: number) => JSON.stringify({ data: 'x'.repeat(bytes - 11) });

  it('a payload over 128 KiB is refused by trigger and queue with exit 2, nothing queued', async () => {
    const home = tempHome();
    await ok(home, ['create', 'l', 'L', 'true', 'event', 'ev']);
    const before = await stateDigest(home);
    for (const args of [
      ['trigger', 'ev'],
      ['queue', 'l'],
    ]) {
      // Any bigger and it could not even be handed to conductor as one argument.
      const r = await cli(home, [...args, '--payload', bigJson(131_060)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^conductor: invalid --payload: 131060 bytes, at most 131053 \(Linux passes it as one environment string, limited to 128 KiB\)\n$/,
      );
    }
    expect(await stateDigest(home)).toBe(before);
    // The largest payload that fits runs.
    await ok(home, ['create', 'm', 'M', 'printf %s "$CONDUCTOR_PAYLOAD" | wc -c', 'event', 'never']);
    await ok(home, ['queue', 'm', '--payload', bigJson(131_053)]);
    await ok(home, ['process'], launcher);
    const x = (await json<any[]>(home, ['history'])).find((h) => h.task_id === 'm');
    expect(x.status).toBe('success');
    expect((await ok(home, ['logs', x.execution_id])).trim()).toBe('131053');
  });

  it('a handler or an env value over 128 KiB is refused by apply with exit 2', async () => {
    // Through the command line neither can be that long: conductor's own arguments have the same limit.
    const home = tempHome();
    const dir = workDir(home);
    const before = await stateDigest(home);
    const big = 'x'.repeat(131_072);
    const apply = (item: object) => {
      fs.writeFileSync(
        `${dir}/s.json`,
        JSON.stringify([{ task_id: 'h', handler: 'true', schedule_type: 'event', schedule_expr: 'e', ...item }]),
      );
      return cli(home, ['apply', `${dir}/s.json`]);
    };
    let r = await apply({ handler: `echo ${big}` });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /invalid handler: 131077 bytes, at most 131071 \(Linux limits one argument to 128 KiB\); nothing applied\n$/,
    );
    r = await apply({ env: { BIG: big } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /invalid env 'BIG': 131076 bytes as BIG=value, at most 131071 \(Linux limits one environment string to 128 KiB\); nothing applied\n$/,
    );
    expect(await stateDigest(home)).toBe(before);
  });

  it('an exec that fails (arguments and environment too big in all) is a failed run naming the reason', async () => {
    const home = tempHome();
    const dir = workDir(home);
    // Each value is under the per-string limit; together they pass the kernel's total (a quarter of the stack limit).
    const env: Record<string, string> = {};
    for (let i = 0; i < 24; i++) env[`V${i}`] = 'y'.repeat(100_000);
    fs.writeFileSync(
      `${dir}/s.json`,
      JSON.stringify([{ task_id: 'fat', handler: `touch ${dir}/ran`, schedule_type: 'event', schedule_expr: 'never', env }]),
    );
    await ok(home, ['apply', `${dir}/s.json`]);
    await ok(home, ['queue', 'fat']);
    const r = await underUlimit(home, 'ulimit -s 8192', ['process'], launcher);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [x] = await json<any[]>(home, ['history']);
    expect(x).toMatchObject({ status: 'failed', exit_code: null });
    expect(x.error).toMatch(/^could not start the handler: argument list too long \(E2BIG\)/);
    expect(fs.existsSync(`${dir}/ran`)).toBe(false);
    expect(await json<any[]>(home, ['status'])).toEqual([]);
  });
});
