import { execa, type ResultPromise } from 'execa';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, fileStoreOnly, idleReadings, json, ok, readLines, sqlOn, STORE, storeEnv, tempHome, workDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tick this long makes a start at the tick plain: the old loop took up to this long to see a new entry. */
const LONG_TICK_MS = 10_000;
/** From the CLI's return to the handler's start: tens of ms here, generous for a loaded 2-core CI machine. */
const AT_ONCE_MS = 1500;

const daemons: ResultPromise[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) {
    d.kill('SIGTERM');
    await d;
  }
});

/** A daemon on `home` with the given tick, returned once its first round is done and it naps. */
async function idleDaemon(home: string, tickMs: number): Promise<{ out: () => string }> {
  const env = { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), CONDUCTOR_TEST_TICK_MS: String(tickMs) };
  const d = execa(BIN, ['--home', home, 'process', '--daemon'], { env: { ...env, ...storeEnv(home) }, reject: false });
  daemons.push(d);
  let out = '';
  d.stdout?.on('data', (b: Buffer) => (out += String(b)));
  for (let i = 0; i < 100; i++) {
    const h = await json<{ findings: { check: string; ok: boolean; message: string }[] }>(home, ['health']).catch(() => null);
    if (h?.findings.some((f) => f.check === 'heartbeat' && f.ok && /daemon/.test(f.message))) break;
    await sleep(100);
  }
  // The heartbeat is written before the round's select: let that round end.
  await sleep(500);
  return { out: () => out };
}

/** Runs a verb that queues one run of `job`; how long after it returned the handler started (ms). */
async function startDelay(home: string, args: string[], started: string, tickMs: number): Promise<number> {
  const before = readLines(started).length;
  await ok(home, args);
  const returned = Date.now();
  for (let waited = 0; readLines(started).length === before && waited < tickMs + 5000; waited += 20) await sleep(20);
  const lines = readLines(started);
  expect(lines.length, `${args.join(' ')}: the handler never started`).toBe(before + 1);
  return Number(BigInt(lines[lines.length - 1]) / 1_000_000n) - returned;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (let waited = 0; !(await check()); waited += 50) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function jobHome(): Promise<{ home: string; started: string }> {
  const home = tempHome();
  const started = path.join(workDir(home), 'started');
  await ok(home, ['create', 'job', 'Job', `date +%s%N >> ${started}`, 'event', 'go']);
  return { home, started };
}

describe('instant start', () => {
  it('an idle daemon starts what queue and trigger queue at once, not at its next tick, and each once', async () => {
    const { home, started } = await jobHome();
    await idleDaemon(home, LONG_TICK_MS);
    for (let i = 0; i < 3; i++) {
      expect(await startDelay(home, ['queue', 'job'], started, LONG_TICK_MS)).toBeLessThan(AT_ONCE_MS);
      expect(await startDelay(home, ['trigger', 'go'], started, LONG_TICK_MS)).toBeLessThan(AT_ONCE_MS);
    }
    await waitFor('six recorded runs', async () => (await json<any[]>(home, ['history'])).length === 6);
    await sleep(300);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => x.status)).toEqual(Array(6).fill('success'));
    expect(readLines(started)).toHaveLength(6);
  });

  it.runIf(fileStoreOnly)(
    'a queue folder removed (the watch fails) falls back to the tick, and is watched again once made again',
    async () => {
      const { home, started } = await jobHome();
      const tickMs = 3000;
      const d = await idleDaemon(home, tickMs);
      fs.rmSync(path.join(home, 'queue'), { recursive: true });
      await waitFor('the note of the lost watch', () => /cannot watch .*queue/.test(d.out()));
      // `queue` makes the folder again (as every verb makes a missing one): the daemon still starts it.
      expect(await startDelay(home, ['queue', 'job'], started, tickMs)).toBeLessThan(tickMs + AT_ONCE_MS);
      await waitFor('the note of the watch set again', () => /watching .*queue.* again/.test(d.out()));
      expect(await startDelay(home, ['queue', 'job'], started, LONG_TICK_MS)).toBeLessThan(AT_ONCE_MS);
    },
  );

  it.runIf(STORE === 'postgres')('a LISTEN connection that is killed reconnects, and wakes the daemon again', async () => {
    const { home, started } = await jobHome();
    await idleDaemon(home, LONG_TICK_MS);
    const listener = `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'conductor-listen'`;
    const first = sqlOn(home, listener).trim();
    expect(first).toMatch(/^\d+$/);
    expect(sqlOn(home, `SELECT pg_terminate_backend(${first})`).trim()).toBe('t');
    await waitFor('a new LISTEN connection', () => /^\d+$/.test(sqlOn(home, listener).trim()));
    expect(sqlOn(home, listener).trim()).not.toBe(first);
    expect(await startDelay(home, ['queue', 'job'], started, LONG_TICK_MS)).toBeLessThan(AT_ONCE_MS);
    expect(await startDelay(home, ['trigger', 'go'], started, LONG_TICK_MS)).toBeLessThan(AT_ONCE_MS);
  });
});
