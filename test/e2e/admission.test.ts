import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, json, ok, readLines, tempHome, workDir } from '../helpers.js';

function readings(home: string, cpu: number, mem: number): Record<string, string> {
  const file = path.join(path.dirname(home), 'fixed-readings.json');
  fs.writeFileSync(file, JSON.stringify({ cpu, mem }));
  return { CONDUCTOR_RESOURCES_FILE: file, CONDUCTOR_PATIENCE_MS: '300' };
}

describe('resource admission', () => {
  it('keeps an entry queued while load + estimate exceed a limit, and says why', async () => {
    const home = tempHome();
    await ok(home, ['create', 'heavy', 'Heavy', 'true', 'event', 'never', '--cpu', '20', '--mem', '15']);
    await ok(home, ['queue', 'heavy']);
    let env = readings(home, 70, 10);
    const s = await json(home, ['process'], env);
    expect(s.started).toBe(0);
    let [e] = await json<any[]>(home, ['status'], env);
    expect(e.blocked_reason).toBe('blocked: cpu 70% + 20% > 80%');
    env = readings(home, 10, 72);
    await json(home, ['process'], env);
    [e] = await json<any[]>(home, ['status'], env);
    expect(e.blocked_reason).toBe('blocked: memory 72% + 15% > 85%');
    expect(await ok(home, ['status'], env)).toContain('blocked: memory 72% + 15% > 85%');
    env = readings(home, 10, 10);
    expect((await json(home, ['process'], env)).succeeded).toBe(1);
    expect(await json(home, ['status'], env)).toEqual([]);
  });

  it('refuses at create and queue an estimate that alone exceeds a limit', async () => {
    const home = tempHome();
    const r = await cli(home, ['create', 'x', 'X', 'true', 'event', 'e', '--mem', '90']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/memory estimate 90% exceeds the limit 85%/);
  });

  it('a lower entry that fits starts beside a blocked higher one (it could not start anyway)', async () => {
    const home = tempHome();
    const out = path.join(workDir(home), 'ran.txt');
    await ok(home, ['create', 'big', 'Big', `echo big >> ${out}`, 'event', 'never', '9', '--cpu', '30']);
    await ok(home, ['create', 'small', 'Small', `echo small >> ${out}`, 'event', 'never', '2', '--cpu', '5']);
    await ok(home, ['queue', 'big']);
    await ok(home, ['queue', 'small']);
    const env = readings(home, 60, 10);
    await ok(home, ['process'], env);
    expect(readLines(out)).toEqual(['small']);
    const [e] = await json<any[]>(home, ['status'], env);
    expect(e.task_id).toBe('big');
    expect(e.blocked_reason).toMatch(/cpu 6[05]% \+ 30% > 80%/);
  });

  it('once a blocked entry has waited past the threshold, lower ones no longer overtake it', async () => {
    const home = tempHome();
    const out = path.join(workDir(home), 'ran.txt');
    await ok(home, ['create', 'big', 'Big', `echo big >> ${out}`, 'event', 'never', '9', '--cpu', '30']);
    await ok(home, ['create', 'small', 'Small', `echo small >> ${out}`, 'event', 'never', '2', '--cpu', '5']);
    const t0 = '2026-11-25T10:00:00Z';
    await ok(home, ['queue', 'big'], { CONDUCTOR_NOW: t0 });
    const env = readings(home, 60, 10);
    await ok(home, ['process', '--starvation-threshold', '30m'], { ...env, CONDUCTOR_NOW: t0 });
    await ok(home, ['queue', 'small'], { CONDUCTOR_NOW: '2026-11-25T10:40:00Z' });
    await ok(home, ['process', '--starvation-threshold', '30m'], { ...env, CONDUCTOR_NOW: '2026-11-25T10:40:00Z' });
    expect(readLines(out)).toEqual([]);
    const q = await json<any[]>(home, ['status'], { ...env, CONDUCTOR_NOW: '2026-11-25T10:40:00Z' });
    expect(q.find((e) => e.task_id === 'small').blocked_reason).toMatch(/waiting behind/);
  });

  it('with real readings, an impossible memory limit starts nothing and says why', async () => {
    const home = tempHome();
    await ok(home, ['create', 'x', 'X', 'true', 'event', 'never']);
    await ok(home, ['queue', 'x']);
    const real = { CONDUCTOR_RESOURCES_FILE: '', CONDUCTOR_PATIENCE_MS: '300' };
    // --max-cpu 100: the suite runs beside other tests, and a busy moment must not be the reason given.
    const s = await json(home, ['process', '--max-mem', '0.01', '--max-cpu', '100'], real);
    expect(s.started).toBe(0);
    const [e] = await json<any[]>(home, ['status'], real);
    expect(e.blocked_reason).toMatch(/^blocked: memory \d+(\.\d)?% \+ 0% > 0%$/);
  });

  it('aging: a priority-1 entry that waited past 3 thresholds starts before fresh priority-3 entries', async () => {
    const home = tempHome();
    const out = path.join(workDir(home), 'ran.txt');
    await ok(home, ['create', 'old', 'Old', `echo old >> ${out}`, 'event', 'never', '1']);
    await ok(home, ['create', 'fresh', 'Fresh', `echo fresh >> ${out}`, 'event', 'never', '3']);
    await ok(home, ['queue', 'old'], { CONDUCTOR_NOW: '2026-11-25T10:00:00Z' });
    const later = { CONDUCTOR_NOW: '2026-11-25T11:35:00Z' };
    await ok(home, ['queue', 'fresh'], later);
    await ok(home, ['queue', 'fresh'], later);
    const q = await json<any[]>(home, ['status'], later);
    expect(q.find((e) => e.task_id === 'old')).toMatchObject({ priority: 1, effective_priority: 4 });
    expect(q.find((e) => e.task_id === 'fresh')).toMatchObject({ priority: 3, effective_priority: 3 });
    await ok(home, ['process', '--max-concurrent', '1'], later);
    expect(readLines(out)).toEqual(['old', 'fresh', 'fresh']);
  });

  it('measures peak CPU and memory of the whole process tree; get shows estimate and measurement', async () => {
    const home = tempHome();
    const burn = `node -e "const b=Buffer.alloc(64*1024*1024,1); const t=Date.now(); while(Date.now()-t<1500){} console.log(b.length)"`;
    await ok(home, ['create', 'burn', 'Burn', `sh -c '${burn}'`, 'event', 'never', '--cpu', '30', '--mem', '5']);
    await ok(home, ['queue', 'burn']);
    await ok(home, ['process']);
    const [x] = await json<any[]>(home, ['history']);
    expect(x.peak_memory_mb).toBeGreaterThan(60);
    expect(x.peak_cpu_percent).toBeGreaterThan(10);
    const s = await json(home, ['get', 'burn']);
    expect(s).toMatchObject({ estimated_cpu_percent: 30, estimated_memory_percent: 5 });
    expect(s.measured_memory_mb).toBeGreaterThan(60);
    expect(s.measured_cpu_percent).toBeGreaterThan(10);
  });
});

describe('overlap', () => {
  it('skip: no second scheduled run while one is queued; queue: one more; explicit queue always enqueues', async () => {
    const home = tempHome();
    const t0 = { CONDUCTOR_NOW: '2026-11-25T10:00:30Z' };
    await ok(home, ['create', 'sk', 'Skip', 'true', 'cron', '* * * * *', '--tz', 'UTC'], t0);
    await ok(home, ['create', 'qu', 'Queue', 'true', 'cron', '* * * * *', '--tz', 'UTC', '--overlap', 'queue'], t0);
    await ok(home, ['pause']);
    await ok(home, ['process'], { CONDUCTOR_NOW: '2026-11-25T10:01:05Z' });
    await ok(home, ['process'], { CONDUCTOR_NOW: '2026-11-25T10:02:05Z' });
    await ok(home, ['queue', 'sk']);
    const q = await json<any[]>(home, ['status']);
    expect(q.filter((e) => e.task_id === 'sk')).toHaveLength(2);
    expect(q.filter((e) => e.task_id === 'sk' && e.source === 'schedule')).toHaveLength(1);
    expect(q.filter((e) => e.task_id === 'qu')).toHaveLength(2);
  });
});
