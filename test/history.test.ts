import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fileStoreOnly, json, ok, tempHome } from './helpers.js';

/** The value of one sample of `stats --format prometheus`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

async function counters(home: string): Promise<{ success: number; failed: number; completed: number; jsonFailed: number }> {
  const prom = await ok(home, ['stats', '--format', 'prometheus']);
  const st = await json(home, ['stats']);
  return {
    success: sample(prom, 'conductor_executions_total{status="success"}'),
    failed: sample(prom, 'conductor_executions_total{status="failed"}'),
    completed: st.completed,
    jsonFailed: st.failed,
  };
}

describe('counters', () => {
  it('are exact when many runs finish at once, and agree with history', async () => {
    const home = tempHome();
    await ok(home, ['create', 'bad', 'Bad', 'sleep 0.05; exit 3', 'event', 'never', '--breaker-threshold', '1000']);
    await ok(home, ['create', 'good', 'Good', 'sleep 0.05', 'event', 'never']);
    await ok(home, ['queue', 'bad', '--count', '100']);
    await ok(home, ['queue', 'good', '--count', '100']);
    await ok(home, ['process', '--max-concurrent', '8']);
    const hist = await json<any[]>(home, ['history']);
    expect(hist).toHaveLength(200);
    const failedRuns = hist.filter((x) => x.status === 'failed').length;
    const successRuns = hist.filter((x) => x.status === 'success').length;
    expect([failedRuns, successRuns]).toEqual([100, 100]);
    const bad = await json(home, ['get', 'bad']);
    expect([bad.failure_count, bad.execution_count]).toEqual([100, 100]);
    const good = await json(home, ['get', 'good']);
    expect([good.failure_count, good.execution_count]).toEqual([0, 100]);
    expect(await counters(home)).toEqual({ success: successRuns, failed: failedRuns, completed: successRuns, jsonFailed: failedRuns });
  }, 120_000);

  it('never go down when a schedule is deleted (nor when its id is created again)', async () => {
    const home = tempHome();
    await ok(home, ['create', 'bad', 'Bad', 'exit 3', 'event', 'never']);
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    await ok(home, ['queue', 'bad', '--count', '2']);
    await ok(home, ['queue', 'good', '--count', '3']);
    await ok(home, ['process']);
    const before = await counters(home);
    expect(before).toEqual({ success: 3, failed: 2, completed: 3, jsonFailed: 2 });
    await ok(home, ['delete', 'bad']);
    await ok(home, ['delete', 'good']);
    expect(await counters(home)).toEqual(before);
    // The same id again is a new schedule: its runs add to what the old one counted.
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    await ok(home, ['queue', 'good']);
    await ok(home, ['process']);
    expect(await counters(home)).toEqual({ ...before, success: 4, completed: 4 });
    expect((await json(home, ['get', 'good'])).execution_count).toBe(1);
    await ok(home, ['delete', 'good']);
    expect(await counters(home)).toEqual({ ...before, success: 4, completed: 4 });
  }, 60_000);

  it.runIf(fileStoreOnly)('are counted once when a delete was cut short after keeping them', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    await ok(home, ['queue', 'good', '--count', '2']);
    await ok(home, ['process']);
    const file = path.join(home, 'schedules', 'good.json');
    const text = fs.readFileSync(file);
    await ok(home, ['delete', 'good']);
    // A crash between keeping the counters and removing the file leaves both.
    fs.writeFileSync(file, text, { mode: 0o600 });
    expect(await counters(home)).toMatchObject({ success: 2, completed: 2 });
    await ok(home, ['delete', 'good']);
    expect(await counters(home)).toMatchObject({ success: 2, completed: 2 });
  });
});
