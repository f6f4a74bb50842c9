import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, fileStoreOnly, idleReadings, json, ok, storeEnv, tempHome, workDir } from '../helpers.js';

/**
 * Issue #12 items 1, 2 and 4: the home is a trust boundary. No symlink in it
 * is followed; files of another user are not run; a home others can write to
 * is refused; nothing hangs and nothing is silent.
 */

const NO_TRACE = /\n\s+at |TypeError|node:internal/;

/** A schedule whose handler prints a line, queued once; returns the entry id. */
async function queuedTask(home: string, handler = 'echo hello-from-handler'): Promise<string> {
  await ok(home, ['create', 's', 'S', handler, 'event', 'never.fired']);
  return (await ok(home, ['queue', 's'])).trim();
}

describe('no symlink is followed inside the home (item 1)', () => {
  for (const spawner of ['perl', 'node']) {
    it(`a log name planted as a symlink does not truncate its target (${spawner} launcher)`, async () => {
      const home = tempHome();
      const id = await queuedTask(home);
      const victim = path.join(workDir(home), 'victim');
      fs.writeFileSync(victim, 'precious\n');
      fs.symlinkSync(victim, path.join(home, 'logs', `${id}.1.log`));
      const r = await cli(home, ['process'], spawner === 'node' ? { CONDUCTOR_SPAWNER: 'node' } : {});
      expect(r.code, r.stderr).toBe(0);
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious\n');
      const log = path.join(home, 'logs', `${id}.1.log`);
      expect(fs.lstatSync(log).isSymbolicLink()).toBe(false);
      expect(fs.readFileSync(log, 'utf8')).toBe('hello-from-handler\n');
    });
  }

  it.runIf(fileStoreOnly)('a folder of the home that is a symlink is refused, never emptied into quarantine', async () => {
    const home = tempHome();
    await ok(home, ['resume']); // makes the home
    const fake = path.join(workDir(home), 'fakeetc');
    fs.mkdirSync(fake);
    for (const n of ['passwd', 'hosts', 'conf.json']) fs.writeFileSync(path.join(fake, n), `${n}\n`);
    fs.rmdirSync(path.join(home, 'queue'));
    fs.symlinkSync(fake, path.join(home, 'queue'));
    for (const verb of [['status'], ['list'], ['process'], ['health']]) {
      const r = await cli(home, verb);
      expect(r.code, `${verb}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/queue.*symbolic link/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(NO_TRACE);
    }
    expect(fs.readdirSync(fake).sort()).toEqual(['conf.json', 'hosts', 'passwd']);
    expect(fs.readdirSync(path.join(home, 'quarantine'))).toEqual([]);
  });

  it('a home that is itself a symlink (moved to another disk, linked back) is the directory it names; a dangling one is refused', async () => {
    const home = tempHome();
    await ok(home, ['create', 'w', 'W', 'true', 'event', 'never']);
    const link = path.join(path.dirname(home), 'link');
    fs.symlinkSync(home, link);
    const env = { NO_COLOR: '1', ...storeEnv(home) };
    const r = await execa(BIN, ['--home', link, 'list', '--json'], { reject: false, env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(String(r.stdout)).map((s: any) => s.task_id)).toEqual(['w']);
    const dangling = path.join(path.dirname(home), 'dangling');
    fs.symlinkSync(path.join(path.dirname(home), 'nowhere'), dangling);
    const d = await execa(BIN, ['--home', dangling, 'create', 'x', 'X', 'true', 'event', 'e'], { reject: false, env });
    expect(d.exitCode, d.stderr).toBe(1);
    expect(String(d.stderr)).toContain(`${dangling} is a symbolic link`);
    expect(fs.existsSync(path.join(path.dirname(home), 'nowhere'))).toBe(false);
  });

  it.runIf(fileStoreOnly)('a symlink inside queue/ is set aside as a link and never read through', async () => {
    const home = tempHome();
    const marker = path.join(workDir(home), 'ran');
    await ok(home, ['create', 's', 'S', `touch ${marker}`, 'event', 'never.fired']);
    const id = (await ok(home, ['queue', 's'])).trim();
    // The entry's own bytes, moved outside the home and linked back in under another name.
    const [name] = fs.readdirSync(path.join(home, 'queue'));
    const outside = path.join(workDir(home), 'entry.json');
    fs.renameSync(path.join(home, 'queue', name), outside);
    fs.symlinkSync(outside, path.join(home, 'queue', 'planted.json'));
    const r = await cli(home, ['process']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
    expect(r.stderr).toMatch(/queue\/planted.json: .*symbolic link/);
    expect(fs.lstatSync(path.join(home, 'quarantine', 'queue__planted.json')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(outside, 'utf8')).entry_id).toBe(id);
  });
});

describe('no hang, no silence (item 4)', () => {
  it('a home under /proc is refused at once', async () => {
    const r = await execa(BIN, ['--home', '/proc/self', 'list'], { reject: false, timeout: 10_000, env: { NO_COLOR: '1' } });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain('/proc/self');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(NO_TRACE);
  });

  it.runIf(fileStoreOnly)('a lock dated in the future is reported by health and does not stall a verb', async () => {
    const home = tempHome();
    await ok(home, ['create', 's', 'S', 'true', 'cron', '0 * * * *']);
    const lock = path.join(home, 'locks', 'schedule-s.lock');
    fs.mkdirSync(lock);
    const future = new Date(Date.now() + 3_600_000);
    fs.utimesSync(lock, future, future);
    const h = await cli(home, ['health', '--json']);
    const locks = JSON.parse(h.stdout).findings.find((f: { check: string }) => f.check === 'locks');
    expect(locks.ok).toBe(false);
    expect(locks.message).toMatch(/schedule-s.*future/);
    const t0 = Date.now();
    const r = await execa(BIN, ['--home', home, 'disable', 's'], { reject: false, timeout: 20_000, env: { NO_COLOR: '1' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect((await json(home, ['get', 's'])).enabled).toBe(false);
  });

  it('a verb with subcommands and none given is a usage error with help on stderr', async () => {
    const home = tempHome();
    const r = await cli(home, ['dlq']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Usage: conductor dlq/);
    expect(r.stderr).toMatch(/list/);
  });
});

/**
 * A second user, created for these tests (root only, as in CI). Commands run
 * as it through runuser, which keeps the environment.
 */
const asRoot = process.geteuid?.() === 0 && fs.existsSync('/usr/sbin/useradd');
const USER = `ctrust${process.pid % 100000}`;

function runAs(user: string, home: string, args: string[], env: Record<string, string> = {}) {
  return execa('runuser', ['-u', user, '--', BIN, '--home', home, ...args], {
    reject: false,
    cwd: '/',
    env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...storeEnv(home), ...env },
  });
}

/** A home owned by USER: its parent is opened up so that USER can reach it. */
function homeOf(user: string): string {
  const home = tempHome();
  fs.chmodSync(path.dirname(home), 0o755);
  fs.chmodSync(idleReadings(home), 0o644);
  fs.mkdirSync(home, { mode: 0o700 });
  execFileSync('chown', [`${user}:`, home]);
  return home;
}

describe.runIf(asRoot)('ownership and modes (item 2)', () => {
  beforeAll(() => {
    execFileSync('useradd', ['--no-create-home', '--shell', '/bin/sh', USER]);
  });
  afterAll(() => {
    execFileSync('userdel', [USER]);
  });

  it('process refuses a home others can write to, and health says why', async () => {
    const home = tempHome();
    const out = path.join(workDir(home), 'uid');
    await queuedTask(home, `id -u > ${out}`);
    fs.chmodSync(home, 0o770);
    const r = await cli(home, ['process']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(home);
    expect(r.stderr).toMatch(/group-writable.*chmod 700/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
    const h = await cli(home, ['health', '--json']);
    const perm = JSON.parse(h.stdout).findings.find((f: { check: string }) => f.check === 'permissions');
    expect(perm.ok).toBe(false);
    expect(perm.message).toMatch(/group-writable/);
    // A folder inside the home as well.
    fs.chmodSync(home, 0o700);
    fs.chmodSync(path.join(home, 'logs'), 0o703);
    const r2 = await cli(home, ['process']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/logs.*writable by others/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it.runIf(fileStoreOnly)('root does not run what another user queued, and names the file and its owner', async () => {
    const home = tempHome();
    const out = path.join(workDir(home), 'uid');
    await queuedTask(home, `id -u > ${out}`);
    const [name] = fs.readdirSync(path.join(home, 'queue'));
    execFileSync('chown', [`${USER}:`, path.join(home, 'queue', name)]);
    const r = await cli(home, ['process']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(out)).toBe(false);
    expect(r.stderr).toMatch(new RegExp(`queue/${name.replace(/[.~+]/g, '\\$&')}.*owned by ${USER}.*not by root`));
    expect(fs.readdirSync(path.join(home, 'queue'))).toEqual([name]);
    expect(fs.readdirSync(path.join(home, 'running'))).toEqual([]);
    const h = await cli(home, ['health', '--json']);
    expect(h.code).toBe(1);
    const own = JSON.parse(h.stdout).findings.find((f: { check: string }) => f.check === 'ownership');
    expect(own.ok).toBe(false);
    expect(own.message).toContain(`queue/${name}`);
  });

  it.runIf(fileStoreOnly)('root does not run a schedule another user wrote', async () => {
    const home = tempHome();
    const out = path.join(workDir(home), 'uid');
    await ok(home, ['create', 's', 'S', `id -u > ${out}`, 'interval', '1m'], { CONDUCTOR_NOW: '2026-01-01T00:00:00Z' });
    execFileSync('chown', [`${USER}:`, path.join(home, 'schedules', 's.json')]);
    const r = await cli(home, ['process'], { CONDUCTOR_NOW: '2026-01-01T00:05:00Z' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`schedules/s.json.*owned by ${USER}`));
    expect(fs.existsSync(out)).toBe(false);
  });

  it('root refuses to process a home owned by another user', async () => {
    const home = homeOf(USER);
    const out = path.join(path.dirname(home), 'uid');
    const q = await runAs(USER, home, ['create', 's', 'S', `id -u > ${out}`, 'event', 'never.fired']);
    expect(q.exitCode, q.stderr).toBe(0);
    expect((await runAs(USER, home, ['queue', 's'])).exitCode).toBe(0);
    const r = await cli(home, ['process']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`owned by ${USER}`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it.runIf(fileStoreOnly)(
    "a file root queued by mistake into a user's home neither stops the user's passes nor strands an entry",
    async () => {
      const home = homeOf(USER);
      const out = path.join(path.dirname(home), 'ran');
      fs.chmodSync(path.dirname(home), 0o777);
      expect((await runAs(USER, home, ['create', 's', 'S', `echo x >> ${out}`, 'event', 'never.fired'])).exitCode).toBe(0);
      expect((await runAs(USER, home, ['queue', 's'])).exitCode).toBe(0);
      // The sudo slip: root queues into the user's home, leaving a root-owned 0600 file in queue/.
      const slip = (await ok(home, ['queue', 's'])).trim();
      for (let pass = 0; pass < 2; pass++) {
        const r = await runAs(USER, home, ['process']);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stderr).toMatch(new RegExp(`queue/${slip}.*owned by root`));
        expect(r.stderr).not.toMatch(NO_TRACE);
        expect(fs.readdirSync(path.join(home, 'running'))).toEqual([]);
      }
      expect(fs.readFileSync(out, 'utf8')).toBe('x\n');
    },
  );
});
