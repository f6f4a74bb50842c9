import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, json, ok, readLines, stateDigest, tempHome, workDir } from '../helpers.js';

/** Handler that logs start and end with nanosecond stamps. */
const span = (log: string, id: string, extra = '') =>
  `echo "start ${id} $(date +%s%N)" >> ${log}; sleep 0.4; ${extra} echo "end ${id} $(date +%s%N)" >> ${log}`;

function spans(log: string): Map<string, { start: bigint; end: bigint }> {
  const m = new Map<string, { start: bigint; end: bigint }>();
  for (const l of readLines(log)) {
    const [kind, id, ns] = l.split(' ');
    const cur = m.get(id) ?? { start: 0n, end: 0n };
    cur[kind as 'start' | 'end'] = BigInt(ns);
    m.set(id, cur);
  }
  return m;
}

async function diamond(home: string, log: string, failB = false) {
  await ok(home, ['create', 'a', 'A', span(log, 'a'), 'event', 'never']);
  await ok(home, ['create', 'b', 'B', span(log, 'b', failB ? 'exit 1;' : ''), 'event', 'never', '--depends-on', 'a']);
  await ok(home, ['create', 'c', 'C', span(log, 'c'), 'event', 'never', '--depends-on', 'a']);
  await ok(home, ['create', 'd', 'D', span(log, 'd'), 'event', 'never', '--depends-on', 'b,c']);
}

describe('dependencies', () => {
  it('a diamond runs in a valid order with b and c in parallel', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'spans.txt');
    await diamond(home, log);
    const out = await ok(home, ['queue', 'd', '--with-deps']);
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[1]),
    ).toEqual(['a', 'b', 'c', 'd']);
    const q = await json<any[]>(home, ['status']);
    expect(new Set(q.map((e) => e.group)).size).toBe(1);
    expect(q.find((e) => e.task_id === 'd').after).toHaveLength(2);
    await ok(home, ['process']);
    const s = spans(log);
    expect(s.get('a')!.end).toBeLessThan(s.get('b')!.start);
    expect(s.get('a')!.end).toBeLessThan(s.get('c')!.start);
    expect(s.get('b')!.end).toBeLessThan(s.get('d')!.start);
    expect(s.get('c')!.end).toBeLessThan(s.get('d')!.start);
    // b and c overlap in time
    expect(s.get('b')!.start).toBeLessThan(s.get('c')!.end);
    expect(s.get('c')!.start).toBeLessThan(s.get('b')!.end);
  });

  it('a failure in b skips d but not c', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'spans.txt');
    await diamond(home, log, true);
    await ok(home, ['queue', 'd', '--with-deps']);
    await ok(home, ['process']);
    const hist = await json<any[]>(home, ['history']);
    const by = Object.fromEntries(hist.map((x) => [x.task_id, x]));
    expect(by.a.status).toBe('success');
    expect(by.b.status).toBe('failed');
    expect(by.c.status).toBe('success');
    expect(by.d.status).toBe('skipped');
    expect(by.d.error).toMatch(/upstream .* ended failed/);
    expect(spans(log).has('d')).toBe(false);
    expect(await json(home, ['status'])).toEqual([]);
  });

  it('a cycle is refused with the cycle printed, nothing written', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'never']);
    await ok(home, ['create', 'b', 'B', 'true', 'event', 'never', '--depends-on', 'a']);
    await ok(home, ['create', 'c', 'C', 'true', 'event', 'never', '--depends-on', 'b']);
    const file = path.join(path.dirname(home), 'cycle.yaml');
    fs.writeFileSync(
      file,
      'schedules:\n  - {task_id: a, handler: "true", schedule_type: event, schedule_expr: never, depends_on: [c]}\n',
    );
    const before = await stateDigest(home);
    const r = await cli(home, ['apply', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/dependency cycle: a -> c -> b -> a/);
    expect(await stateDigest(home)).toBe(before);
    const u = await cli(home, ['create', 'x', 'X', 'true', 'event', 'e', '--depends-on', 'nope']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/unknown task id 'nope'/);
  });

  it('a scheduled run of a task with dependencies queues the group', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'order.txt');
    const t0 = { CONDUCTOR_NOW: '2026-11-25T10:00:30Z' };
    await ok(home, ['create', 'up', 'Up', `echo up >> ${log}`, 'event', 'never'], t0);
    await ok(
      home,
      ['create', 'down', 'Down', `echo down >> ${log}`, 'cron', '* * * * *', '--tz', 'UTC', '--depends-on', 'up'],
      t0,
    );
    await ok(home, ['process'], { CONDUCTOR_NOW: '2026-11-25T10:01:05Z' });
    expect(readLines(log)).toEqual(['up', 'down']);
  });
});

describe('lifecycle events', () => {
  it('a chain of three event-linked schedules runs in order from one trigger', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'chain.txt');
    await ok(home, ['create', 'one', 'One', `echo one >> ${log}`, 'event', 'pipeline.start']);
    await ok(home, ['create', 'two', 'Two', `echo "two $CONDUCTOR_PAYLOAD" >> ${log}`, 'event', 'task.completed:one']);
    await ok(home, ['create', 'three', 'Three', `echo three >> ${log}`, 'event', 'task.completed:two']);
    await ok(home, ['create', 'watch', 'Watch', `echo "failed $CONDUCTOR_EVENT" >> ${log}.failed`, 'event', 'task.failed']);
    await ok(home, ['trigger', 'pipeline.start']);
    await ok(home, ['process']);
    const lines = readLines(log);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['one', 'two', 'three']);
    const payload = JSON.parse(lines[1].slice(4));
    expect(payload).toMatchObject({ task_id: 'one', exit_code: 0, status: 'success' });
    expect(payload.entry_id).toBeTruthy();
    expect(fs.existsSync(`${log}.failed`)).toBe(false);
    const events = await json<any[]>(home, ['events']);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['pipeline.start', 'task.completed']));
  });

  it('patterns and task.failed listeners hear the right events', async () => {
    const home = tempHome();
    const log = path.join(workDir(home), 'heard.txt');
    await ok(home, ['create', 'all-backups', 'B', `echo "backup $CONDUCTOR_EVENT" >> ${log}`, 'event', 'backup.*']);
    await ok(home, ['create', 'oops', 'O', 'exit 4', 'event', 'never']);
    await ok(home, ['create', 'alarm', 'A', `echo "alarm $CONDUCTOR_PAYLOAD" >> ${log}`, 'event', 'task.failed']);
    expect((await json(home, ['trigger', 'backup.daily'])).queued).toHaveLength(1);
    expect((await json(home, ['trigger', 'restore.daily'])).queued).toHaveLength(0);
    await ok(home, ['queue', 'oops']);
    await ok(home, ['process']);
    const lines = readLines(log).sort();
    expect(lines[0]).toMatch(/^alarm .*"task_id":"oops".*"exit_code":4.*"status":"failed"/);
    expect(lines[1]).toBe('backup backup.daily');
  });

  it('an event loop is stopped by the depth cap, and the cap being hit is reported', async () => {
    const home = tempHome();
    await ok(home, ['create', 'loop', 'Loop', 'true', 'event', 'task.completed:loop']);
    await ok(home, ['create', 'kick', 'Kick', 'true', 'event', 'go']);
    await ok(home, [
      'create',
      'ping',
      'Ping',
      `${path.resolve(__dirname, '..', '..', 'bin', 'conductor')} --home ${home} trigger ping`,
      'event',
      'ping',
    ]);
    await ok(home, ['queue', 'loop']);
    const out = await ok(home, ['process']);
    const hist = await json<any[]>(home, ['history', 'loop', '--limit', '100']);
    expect(hist).toHaveLength(9);
    expect(out).toMatch(/depth 9 exceeds the cap 8/);
    const events = await json<any[]>(home, ['events', '--limit', '100']);
    expect(events.some((e) => /exceeds the cap/.test(e.note ?? ''))).toBe(true);
    // A handler that triggers the event it listens to is stopped too.
    await ok(home, ['trigger', 'ping']);
    await ok(home, ['process']);
    expect((await json<any[]>(home, ['history', 'ping', '--limit', '100'])).length).toBe(9);
  });
});

describe('schedules file', () => {
  const yaml = `schedules:
  - task_id: nightly
    task_name: Nightly
    handler: echo nightly
    schedule_type: cron
    schedule_expr: "0 2 * * *"
    tz: Europe/Berlin
    priority: 8
    retries: 2
  - task_id: hook
    handler: echo hook
    schedule_type: event
    schedule_expr: webhook.received
    depends_on: [nightly]
`;

  it('apply twice is idempotent; --dry-run and --prune', async () => {
    const home = tempHome();
    const file = path.join(path.dirname(home), 's.yaml');
    fs.writeFileSync(file, yaml);
    expect(await ok(home, ['apply', file])).toMatch(/\+ nightly[\s\S]*\+ hook[\s\S]*2 created/);
    const first = await json<any[]>(home, ['list']);
    expect(first.find((s) => s.task_id === 'nightly')).toMatchObject({ priority: 8, tz: 'Europe/Berlin', retries: 2 });
    const again = await json(home, ['apply', file]);
    expect(again.changes).toEqual([]);
    expect(await json(home, ['list'])).toEqual(first);
    fs.writeFileSync(file, yaml.replace('priority: 8', 'priority: 9'));
    const dry = await json(home, ['apply', file, '--dry-run']);
    expect(dry.changes).toEqual([{ op: '~', task_id: 'nightly', fields: ['priority'] }]);
    expect((await json(home, ['get', 'nightly'])).priority).toBe(8);
    await ok(home, ['apply', file]);
    expect((await json(home, ['get', 'nightly'])).priority).toBe(9);
    await ok(home, ['create', 'extra', 'Extra', 'true', 'event', 'x']);
    const pruned = await json(home, ['apply', file, '--prune']);
    expect(pruned.changes).toEqual([{ op: '-', task_id: 'extra' }]);
    expect((await json<any[]>(home, ['list'])).map((s) => s.task_id).sort()).toEqual(['hook', 'nightly']);
  });

  it('accepts JSON and the get --json output itself', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'cron', '*/5 * * * *', '--retries', '1']);
    const exported = await ok(home, ['list', '--json']);
    const other = tempHome();
    const file = path.join(path.dirname(other), 'export.json');
    fs.writeFileSync(file, exported);
    await ok(other, ['apply', file]);
    expect((await json(other, ['get', 'a'])).retries).toBe(1);
  });

  it('a file with one bad schedule changes nothing and names its line; validate checks without writing', async () => {
    const home = tempHome();
    const file = path.join(path.dirname(home), 'bad.yaml');
    fs.writeFileSync(
      file,
      yaml + '  - task_id: broken\n    handler: "true"\n    schedule_type: cron\n    schedule_expr: "99 * * * *"\n',
    );
    const before = await stateDigest(home);
    const r = await cli(home, ['apply', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:15: broken: invalid cron minute field '99'/);
    expect(await stateDigest(home)).toBe(before);
    const v = await cli(home, ['validate', file]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/:15: broken: invalid cron minute field/);
    fs.writeFileSync(file, yaml);
    expect((await cli(home, ['validate', file])).stdout).toMatch(/ok, 2 schedules/);
    expect(await stateDigest(home)).toBe(before);
    fs.writeFileSync(file, 'schedules: [ {task_id: a, ');
    expect((await cli(home, ['validate', file])).code).toBe(2);
  });
});
