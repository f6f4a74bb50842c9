import { execa } from 'execa';
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
  storeEnv,
  tempHome,
  workDir,
} from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fills the file system, then frees exactly one page: room for one small file, not for two. */
function leaveOnePage(mnt: string): () => void {
  const reserve = path.join(mnt, 'reserve');
  fs.writeFileSync(reserve, Buffer.alloc(4096));
  const filler = fillDisk(mnt);
  fs.rmSync(reserve);
  return () => fs.rmSync(filler, { force: true });
}

const queueFiles = (home: string) => fs.readdirSync(path.join(home, 'queue')).sort();
const incoming = (home: string) =>
  fs.existsSync(path.join(home, 'incoming')) ? fs.readdirSync(path.join(home, 'incoming')) : [];

describe.runIf(fileStoreOnly)('all or nothing on a full disk', () => {
  it('trigger, queue --count and queue --with-deps queue every entry or none; retried, each runs once', async (t) => {
    const base = tempHome();
    const mnt = path.join(path.dirname(base), 'mnt');
    if (!mountTmpfs(mnt, '512k')) {
      t.skip();
      return;
    }
    try {
      const home = path.join(mnt, 'home');
      const ran = path.join(workDir(base), 'ran.txt');
      const env = { CONDUCTOR_RESOURCES_FILE: idleReadings(base) };
      const echo = (tag: string) => `echo ${tag} $CONDUCTOR_ENTRY_ID >> ${ran}`;
      await ok(home, ['create', 'a', 'A', echo('a'), 'event', 'ev'], env);
      await ok(home, ['create', 'b', 'B', echo('b'), 'event', 'ev'], env);
      await ok(home, ['create', 'up', 'Up', echo('up'), 'event', 'never'], env);
      await ok(home, ['create', 'root', 'Root', echo('root'), 'event', 'never', '--depends-on', 'up'], env);
      const free = leaveOnePage(mnt);
      for (const args of [
        ['trigger', 'ev'],
        ['queue', 'a', '--count', '3'],
        ['queue', 'root', '--with-deps'],
      ]) {
        const r = await cli(home, args, env);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stderr).toMatch(/^conductor: no space left on device/);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(queueFiles(home), args.join(' ')).toEqual([]);
        expect(incoming(home)).toEqual([]);
      }
      free();
      await ok(home, ['trigger', 'ev'], env);
      await ok(home, ['queue', 'a', '--count', '3'], env);
      await ok(home, ['queue', 'root', '--with-deps'], env);
      await ok(home, ['process'], env);
      const lines = readLines(ran);
      expect(lines.map((l) => l.split(' ')[0]).sort()).toEqual(['a', 'a', 'a', 'a', 'b', 'root', 'up']);
      expect(new Set(lines).size).toBe(lines.length);
    } finally {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    }
  });
});

describe.runIf(fileStoreOnly)('batches a crash left behind', () => {
  it("a committed batch is finished by the next pass; a dead writer's stage is dropped; a forged manifest is set aside", async () => {
    const home = tempHome();
    await ok(home, ['create', 'w', 'W', 'true', 'event', 'never']);
    const [e1, e2] = await json<any[]>(home, ['queue', 'w', '--count', '2']);
    await ok(home, ['cancel', e1.entry_id]);
    await ok(home, ['cancel', e2.entry_id]);
    // As a writer killed right after its commit rename leaves it: both files still staged.
    const commit = path.join(home, 'incoming', 'commit~abc');
    fs.mkdirSync(commit, { recursive: true });
    const ids = ['0mwz0000a000-0000000001', '0mwz0000a001-0000000002'];
    const items = ids.map((id, i) => {
      const entry = { ...e1, entry_id: id, runs: 0 };
      fs.writeFileSync(path.join(commit, `f${i}`), JSON.stringify(entry));
      return { file: `f${i}`, dir: 'queue', name: `${id}~p5~a1~m~n0~w.json` };
    });
    fs.writeFileSync(path.join(commit, 'manifest.json'), JSON.stringify(items));
    // A stage whose writer (pid 999999 of this boot... or any dead token) is gone.
    const stage = path.join(home, 'incoming', 'stage~deadbeef.999999.1~xyz');
    fs.mkdirSync(stage);
    fs.writeFileSync(path.join(stage, 'f0'), '{}');
    // A manifest that points outside the home is not followed.
    const forged = path.join(home, 'incoming', 'commit~evil');
    fs.mkdirSync(forged);
    fs.writeFileSync(path.join(forged, 'f0'), 'x');
    fs.writeFileSync(path.join(forged, 'manifest.json'), JSON.stringify([{ file: 'f0', dir: '../..', name: 'owned' }]));
    const r = await cli(home, ['process']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/commit~evil.*not conductor's/);
    expect(fs.existsSync(path.join(path.dirname(home), 'owned'))).toBe(false);
    expect(incoming(home)).toEqual([]);
    const hist = await json<any[]>(home, ['history']);
    expect(
      hist
        .filter((x) => x.status === 'success')
        .map((x) => x.entry_id)
        .sort(),
    ).toEqual(ids);
  });
});

describe('apply against a concurrent create', () => {
  it('creates all of its schedules or none, whatever a create does meanwhile', async () => {
    for (const delay of [60, 120, 180, 240, 300]) {
      const home = tempHome();
      await ok(home, ['create', 'seed', 'Seed', 'true', 'event', 'never']);
      const file = path.join(path.dirname(home), 'schedules.yaml');
      const n = 300;
      fs.writeFileSync(
        file,
        Array.from(
          { length: n },
          (_, i) => `- {task_id: s${i}, handler: 'true', schedule_type: event, schedule_expr: never}`,
        ).join('\n') + '\n',
      );
      const env = { NO_COLOR: '1', ...storeEnv(home) };
      const apply = execa(BIN, ['--home', home, 'apply', file], { env, reject: false });
      await sleep(delay);
      const create = await cli(home, ['create', `s${n - 1}`, 'Other', 'echo other', 'event', 'never']);
      const a = await apply;
      const ids = (await json<any[]>(home, ['list'])).map((s) => s.task_id);
      if (a.exitCode === 0) {
        expect(ids.length, `delay ${delay}`).toBe(n + 1);
      } else {
        expect(a.exitCode).toBe(2);
        expect(String(a.stderr)).toMatch(/created meanwhile; nothing applied/);
        expect(create.code).toBe(0);
        expect(ids.sort(), `delay ${delay}`).toEqual(['seed', `s${n - 1}`].sort());
      }
    }
  }, 120_000);
});

describe('a clock that went back', () => {
  it('a pass under a clock a day ahead does not leave cron and interval schedules silent for a day', async () => {
    const home = tempHome();
    await ok(home, ['create', 'c', 'C', 'true', 'cron', '*/5 * * * *', '--tz', 'UTC']);
    await ok(home, ['create', 'i', 'I', 'true', 'interval', '10m']);
    await ok(home, ['create', 'd', 'D', 'true', 'cron', '0 3 * * *', '--tz', 'UTC']);
    const ahead = new Date(Date.now() + 86_400_000).toISOString();
    await ok(home, ['process'], { CONDUCTOR_NOW: ahead });
    const before = Date.now();
    const r = await cli(home, ['process']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/clock went back/);
    const next = new Map((await json<any[]>(home, ['list'])).map((s) => [s.task_id, Date.parse(s.next_execution)]));
    expect(next.get('c')! - before).toBeLessThanOrEqual(5 * 60_000);
    expect(next.get('i')! - before).toBeLessThanOrEqual(10 * 60_000);
    expect(next.get('i')!).toBeGreaterThan(before - 1000);
    // A daily job is one period (a day) ahead at most: its next 03:00 from now.
    expect(next.get('d')! - before).toBeLessThanOrEqual(86_400_000);
  });

  it.runIf(fs.existsSync('/usr/bin/faketime'))('the same with faketime, as a clock set wrong system-wide would', async () => {
    const home = tempHome();
    await ok(home, ['create', 'c', 'C', 'true', 'cron', '*/5 * * * *']);
    await execa('faketime', ['-f', '+1d', BIN, '--home', home, 'process'], {
      env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...storeEnv(home) },
    });
    expect(Date.parse((await json(home, ['get', 'c'])).next_execution) - Date.now()).toBeGreaterThan(20 * 3_600_000);
    await ok(home, ['process']);
    expect(Date.parse((await json(home, ['get', 'c'])).next_execution) - Date.now()).toBeLessThanOrEqual(5 * 60_000);
  });
});

describe.runIf(!fileStoreOnly)('a run recorded twice (PostgreSQL)', () => {
  it('a second, different record of one execution is surfaced, not dropped', async () => {
    const home = tempHome();
    await ok(home, ['create', 'w', 'W', 'true', 'event', 'never']);
    const id = (await ok(home, ['queue', 'w'])).trim();
    // As if another dispatcher had already run and recorded this entry.
    const other = {
      format: 1,
      execution_id: `${id}.1`,
      entry_id: id,
      task_id: 'w',
      attempt: 1,
      status: 'failed',
      exit_code: 3,
      signal: null,
      started_at: '2026-01-01T00:00:00.000+00:00',
      finished_at: '2026-01-01T00:00:01.000+00:00',
      duration_ms: 1000,
      peak_cpu_percent: null,
      peak_memory_mb: null,
      log: null,
      error: 'exit code 3',
      event: null,
    };
    sqlOn(
      home,
      `INSERT INTO conductor.executions (execution_id, task_id, started_at, finished_at, body) VALUES ('${id}.1', 'w', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', '${JSON.stringify(other)}')`,
    );
    const r = await cli(home, ['process']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`second, different record of execution ${id}\\.1`));
    const h = await cli(home, ['health']);
    expect(h.stdout).toMatch(/FAIL quarantine/);
  });
});
