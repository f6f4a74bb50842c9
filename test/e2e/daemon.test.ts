import { execa } from 'execa';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, BIN, idleReadings, json, ok, tempHome, workDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('daemon', () => {
  it('picks up new entries within a second, refuses a second daemon, with --on-stop wait waits for its runs on SIGTERM', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'quick', 'Quick', `date +%s%N > ${dir}/started`, 'event', 'never']);
    await ok(home, ['create', 'slow', 'Slow', `sleep 1.5; echo $$ > ${dir}/slow.pid; touch ${dir}/slow.done`, 'event', 'never']);
    const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    const d = execa(BIN, ['--home', home, 'process', '--daemon', '--on-stop', 'wait'], { env, reject: false });
    const pidFile = path.join(home, 'state', 'daemon.pid');
    for (let i = 0; i < 50 && !fs.existsSync(pidFile); i++) await sleep(100);
    expect(JSON.parse(fs.readFileSync(pidFile, 'utf8')).pid).toBe(d.pid);
    const second = await execa(BIN, ['--home', home, 'process', '--daemon'], { env, reject: false });
    expect(second.exitCode).toBe(1);
    expect(String(second.stderr)).toMatch(/already running/);

    // Timed from the moment the entry is queued: the CLI's own start-up (slow on a loaded CI machine) is not the daemon's.
    await ok(home, ['queue', 'quick']);
    const queuedAt = Date.now();
    for (let i = 0; i < 50 && !fs.existsSync(`${dir}/started`); i++) await sleep(50);
    const startedAt = Number(BigInt(fs.readFileSync(`${dir}/started`, 'utf8').trim()) / 1_000_000n);
    expect(startedAt - queuedAt).toBeLessThan(1500);

    await ok(home, ['queue', 'slow']);
    for (let i = 0; i < 40; i++) {
      const q = await json<any[]>(home, ['status']);
      if (q.some((e) => e.status === 'running')) break;
      await sleep(100);
    }
    d.kill('SIGTERM');
    const r = await d;
    expect(r.exitCode).toBe(0);
    expect(fs.existsSync(`${dir}/slow.done`)).toBe(true);
    expect(fs.existsSync(pidFile)).toBe(false);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => x.status)).toEqual(['success', 'success']);
  });

  it('with --on-stop wait, a second signal stops the running tasks and leaks no children', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'hang', 'Hang', `sleep 300 & echo $! > ${dir}/child.pid; wait`, 'event', 'never']);
    const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    await ok(home, ['queue', 'hang']);
    const d = execa(BIN, ['--home', home, 'process', '--daemon', '--on-stop', 'wait', '--grace', '500ms'], {
      env,
      reject: false,
    });
    for (let i = 0; i < 50 && !fs.existsSync(`${dir}/child.pid`); i++) await sleep(100);
    d.kill('SIGTERM');
    await sleep(300);
    d.kill('SIGINT');
    const r = await d;
    expect(r.exitCode).toBe(0);
    expect(alive(Number(fs.readFileSync(`${dir}/child.pid`, 'utf8')))).toBe(false);
    expect((await json<any[]>(home, ['history']))[0].status).toBe('abandoned');
  });

  it('by default a second signal right after the first still stops the running tasks', async () => {
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
    const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    await ok(home, ['queue', 'hang']);
    const d = execa(BIN, ['--home', home, 'process', '--daemon', '--grace', '500ms'], { env, reject: false });
    for (let i = 0; i < 50 && !fs.existsSync(`${dir}/child.pid`); i++) await sleep(100);
    const t0 = Date.now();
    d.kill('SIGTERM');
    await sleep(300);
    d.kill('SIGINT');
    const r = await d;
    expect(r.exitCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    for (const f of ['hang.pid', 'child.pid']) expect(alive(Number(fs.readFileSync(`${dir}/${f}`, 'utf8')))).toBe(false);
    expect((await json<any[]>(home, ['history']))[0].status).toBe('abandoned');
  });

  it('promotes interval schedules on its own', async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, ['create', 'tick', 'Tick', `echo x >> ${dir}/ticks`, 'interval', '1s']);
    const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    const d = execa(BIN, ['--home', home, 'process', '--daemon'], { env, reject: false });
    await sleep(3500);
    d.kill('SIGTERM');
    await d;
    const n = fs.readFileSync(`${dir}/ticks`, 'utf8').split('\n').filter(Boolean).length;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(4);
  });
});
