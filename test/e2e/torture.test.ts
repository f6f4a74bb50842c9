import { execa, type ResultPromise } from 'execa';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  cli,
  fileStoreOnly,
  fillDisk,
  idleReadings,
  json,
  mountTmpfs,
  ok,
  readLines,
  sqlOn,
  tempHome,
  workDir,
} from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every state file parses (temp files of killed writers are hidden and swept later). */
function allStateFilesParse(home: string): string[] {
  const bad: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      if (n.startsWith('.')) continue;
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.jsonl')) {
        // A journal may end in a line torn by the kill; every complete line must parse.
        const lines = fs.readFileSync(p, 'utf8').split('\n').slice(0, -1);
        for (const l of lines) {
          try {
            JSON.parse(l);
          } catch {
            bad.push(`${p}: ${l.slice(0, 60)}`);
          }
        }
      } else if (n.endsWith('.json')) {
        try {
          JSON.parse(fs.readFileSync(p, 'utf8'));
        } catch {
          bad.push(p);
        }
      }
    }
  };
  walk(home);
  return bad;
}

describe('torture', () => {
  it('8 shells x 50 queue at once beside 2 dispatchers: every entry runs exactly once', async () => {
    const home = tempHome();
    const ran = path.join(workDir(home), 'ran.txt');
    await ok(home, ['create', 'w', 'W', `echo $CONDUCTOR_ENTRY_ID >> ${ran}`, 'event', 'never']);
    const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    const daemons = [1, 2].map(() =>
      execa(BIN, ['--home', home, 'process', '--daemon', '--max-concurrent', '4'], { env, reject: false }),
    );
    // The second daemon is refused (one per home); a crontab-style pass loop stands in as the second dispatcher.
    const passes = execa('sh', ['-c', `while [ ! -f ${home}.stop ]; do ${BIN} --home ${home} process >/dev/null; done`], {
      env,
      reject: false,
    });
    const shells = Array.from({ length: 8 }, () =>
      execa('sh', ['-c', `for i in $(seq 50); do ${BIN} --home ${home} queue w || exit 1; done`], { env, reject: false }),
    );
    const results = await Promise.all(shells);
    expect(results.map((r) => r.exitCode)).toEqual(Array(8).fill(0));
    const queued = results.flatMap((r) => String(r.stdout).split('\n').filter(Boolean));
    expect(new Set(queued).size).toBe(400);
    const deadline = Date.now() + 60_000;
    while (readLines(ran).length < 400 && Date.now() < deadline) await sleep(200);
    fs.writeFileSync(`${home}.stop`, '');
    for (const d of daemons) d.kill('SIGTERM');
    const [d1, d2] = await Promise.all(daemons);
    await passes;
    expect([d1.exitCode, d2.exitCode].sort()).toEqual([0, 1]);
    expect(String(d1.stderr) + String(d2.stderr)).toMatch(/already running/);
    const lines = readLines(ran);
    expect(lines.length).toBe(400);
    expect(new Set(lines)).toEqual(new Set(queued));
    expect(await json(home, ['status'])).toEqual([]);
  }, 180_000);

  it('kill -9 of process at random points, 10 times: nothing stuck, nothing twice successful, all files parse', async () => {
    const home = tempHome();
    const ran = path.join(workDir(home), 'ran.txt');
    await ok(home, [
      'create',
      'w',
      'W',
      `sleep 0.2; echo $CONDUCTOR_ENTRY_ID >> ${ran}`,
      'event',
      'never',
      '--retries',
      '3',
      '--backoff',
      '1ms',
      '--breaker-threshold',
      '1000',
    ]);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await ok(home, ['queue', 'w'])).trim());
    const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    for (let i = 0; i < 10; i++) {
      const p: ResultPromise = execa(BIN, ['--home', home, 'process', '--max-concurrent', '6'], { env, reject: false });
      await sleep(100 + Math.floor(Math.random() * 500));
      p.kill('SIGKILL');
      await p;
    }
    for (let i = 0; i < 10; i++) {
      await ok(home, ['process', '--max-concurrent', '6']);
      if ((await json<any[]>(home, ['status'])).length === 0) break;
      await sleep(50);
    }
    expect(await json(home, ['status'])).toEqual([]);
    if (fileStoreOnly) {
      expect(fs.readdirSync(path.join(home, 'running'))).toEqual([]);
      expect(allStateFilesParse(home)).toEqual([]);
    } else expect(sqlOn(home, 'SELECT count(*) FROM conductor.running').trim()).toBe('0');
    const hist = await json<any[]>(home, ['history', '--limit', '10000']);
    const dlq = new Set((await json<any[]>(home, ['dlq', 'list'])).map((d) => d.entry_id));
    for (const id of ids) {
      const xs = hist.filter((x) => x.entry_id === id);
      const successes = xs.filter((x) => x.status === 'success').length;
      expect(successes, `entry ${id}`).toBeLessThanOrEqual(1);
      const last = xs.sort((a, b) => b.attempt - a.attempt)[0];
      expect(
        successes === 1 || dlq.has(id) || last?.status === 'failed',
        `entry ${id} ended: ${JSON.stringify(xs.map((x) => x.status))}`,
      ).toBe(true);
    }
  }, 180_000);
});

describe.runIf(fileStoreOnly)('disk full', () => {
  it('a full disk gives a clear error and loses nothing', async (t) => {
    const base = tempHome();
    const mnt = path.join(path.dirname(base), 'mnt');
    if (!mountTmpfs(mnt, '1m')) {
      t.skip();
      return;
    }
    try {
      const home = path.join(mnt, 'home');
      const readings = idleReadings(base);
      const env = { CONDUCTOR_RESOURCES_FILE: readings };
      await ok(home, ['create', 'w', 'W', 'echo hi', 'event', 'never'], env);
      const first = (await ok(home, ['queue', 'w'], env)).trim();
      const filler = fillDisk(mnt);
      const before = fs.readdirSync(path.join(home, 'queue')).sort();
      const r = await cli(home, ['queue', 'w'], env);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(/^conductor: no space left on device/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(fs.readdirSync(path.join(home, 'queue')).sort()).toEqual(before);
      const c = await cli(home, ['create', 'x', 'X', 'true', 'event', 'e'], env);
      expect(c.code).toBe(1);
      expect(fs.existsSync(path.join(home, 'schedules', 'x.json'))).toBe(false);
      const p = await cli(home, ['process'], env);
      expect(p.code).toBe(1);
      expect(p.stderr).toMatch(/no space left on device/);
      fs.rmSync(filler);
      await ok(home, ['process'], env);
      const hist = await json<any[]>(home, ['history'], env);
      expect(hist.map((x) => x.entry_id)).toContain(first);
      expect(await json(home, ['status'], env)).toEqual([]);
    } finally {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    }
  });
});
