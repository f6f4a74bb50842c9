import { execa, type ResultPromise } from 'execa';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  cli,
  idleReadings,
  json,
  ok,
  readLines,
  sqlOn,
  STORE,
  stateDigest,
  storeEnv,
  tempHome,
  workDir,
} from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What only the PostgreSQL store has: a schema with versions, several hosts
 * on one queue (each host is a dispatcher with its own local home and its own
 * host id), leases. The behaviour shared with the file store is proved by
 * running the whole suite against both.
 */
describe.runIf(STORE === 'postgres')('postgres store', () => {
  it('migrate creates the schema, is safe to repeat, and a newer schema is refused', async () => {
    const home = tempHome();
    expect(await json(home, ['migrate'])).toMatchObject({ store: 'postgres', from_version: 0, to_version: 5, applied: 5 });
    expect(await json(home, ['migrate'])).toMatchObject({ from_version: 5, to_version: 5, applied: 0 });
    expect(sqlOn(home, `SELECT value FROM conductor.meta WHERE key = 'schema_version'`).trim()).toBe('5');
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    sqlOn(home, `UPDATE conductor.meta SET value = '99' WHERE key = 'schema_version'`);
    for (const args of [['list'], ['migrate']]) {
      const r = await cli(home, args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(/^conductor: database .* schema version 99, newer than this conductor \(5\)$/);
    }
    const bad = await cli(home, ['list'], { CONDUCTOR_STORE: 'mysql://x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid store 'mysql:\/\/x'/);
    const down = await cli(home, ['list'], { CONDUCTOR_STORE: 'postgres://postgres@127.0.0.1:1/none' });
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/^conductor: database postgres:\/\/postgres@127\.0\.0\.1:1\/none: /);
  });

  it('a foreign row in the queue is set aside and reported; the other entries run', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'never']);
    await ok(home, ['queue', 'a']);
    sqlOn(
      home,
      `INSERT INTO conductor.queue (entry_id, task_id, body, priority, attempt, enqueued_at, source, from_schedule, grouped) VALUES ('junk', 'a', '{"x": 1}', 5, 1, now(), 'manual', false, false)`,
    );
    const r = await cli(home, ['process', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ started: 1, succeeded: 1, still_queued: 0 });
    expect((await cli(home, ['status'])).code).toBe(0);
    expect(sqlOn(home, 'SELECT source, body FROM conductor.quarantine').trim()).toBe('queue/junk|{"x":1}');
    expect((await json(home, ['stats'])).quarantined).toBe(1);
  });

  it('export and import move schedules, queue, history and dead letters between the stores, both ways', async () => {
    const pg = tempHome();
    const file = tempHome();
    const fileEnv = { CONDUCTOR_STORE: 'file' };
    // Built in a file store...
    await ok(file, ['create', 'ok', 'OK', 'echo "out $CONDUCTOR_ENTRY_ID"', 'event', 'go'], fileEnv);
    await ok(
      file,
      ['create', 'bad', 'Bad', 'echo boom >&2; exit 3', 'event', 'never', '--retries', '1', '--backoff', '1ms'],
      fileEnv,
    );
    await ok(file, ['trigger', 'go'], fileEnv);
    await ok(file, ['queue', 'bad'], fileEnv);
    await ok(file, ['process'], fileEnv);
    await sleep(20);
    await ok(file, ['process'], fileEnv);
    await ok(file, ['queue', 'ok', '--priority', '9'], fileEnv);
    const views = async (home: string, env: Record<string, string>) => ({
      list: await json<any[]>(home, ['list'], env),
      status: await json(home, ['status'], env),
      history: (await json<any[]>(home, ['history'], env)).map(({ log: _l, ...x }) => x),
      dlq: await json(home, ['dlq', 'list'], env),
    });
    const before = await views(file, fileEnv);
    expect(before.history).toHaveLength(3);
    expect(before.dlq).toHaveLength(1);
    const dump = path.join(workDir(file), 'dump.json');
    await ok(file, ['export', '--output', dump], fileEnv);

    // ...moved to PostgreSQL: every view reads the same, output included.
    expect(await json(pg, ['import', dump])).toMatchObject({ schedules: 2, queued: 1, executions: 3, dlq: 1 });
    expect(await views(pg, {})).toEqual(before);
    const okRun = before.history.find((x: any) => x.task_id === 'ok');
    expect(await ok(pg, ['logs', okRun.execution_id])).toBe(`out ${okRun.entry_id}\n`);

    // A second import conflicts, is refused, and changes nothing.
    const digest = await stateDigest(pg);
    const again = await cli(pg, ['import', dump]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(/^conductor: task id '(ok|bad)' already exists in the target store; nothing imported$/);
    expect(await stateDigest(pg)).toBe(digest);
    fs.writeFileSync(path.join(workDir(pg), 'junk.json'), '{"conductor_export": 1, "schedules": [{"task_id": "x"}]}');
    const junk = await cli(pg, ['import', path.join(workDir(pg), 'junk.json')]);
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/schedules\[0\] is not a valid schedule/);
    expect(await stateDigest(pg)).toBe(digest);

    // The queued entry runs from PostgreSQL; then everything goes back to a new file store.
    expect((await json(pg, ['process'])).succeeded).toBe(1);
    const back = tempHome();
    const dump2 = path.join(workDir(pg), 'dump2.json');
    await ok(pg, ['export', '--output', dump2]);
    await ok(back, ['import', dump2], fileEnv);
    expect(await views(back, fileEnv)).toEqual(await views(pg, {}));
    expect(await json<any[]>(back, ['history'], fileEnv)).toHaveLength(4);
  });

  it('the concurrency limit holds across hosts, and is reached', async () => {
    const a = tempHome();
    const b = tempHome();
    const store = storeEnv(b);
    const log = path.join(workDir(a), 'spans.txt');
    await ok(
      a,
      [
        'create',
        'w',
        'W',
        `echo "start $(date +%s%N)" >> ${log}; sleep 0.5; echo "end $(date +%s%N)" >> ${log}`,
        'event',
        'never',
      ],
      store,
    );
    await ok(a, ['queue', 'w', '--count', '8'], store);
    const run = (home: string, host: string) =>
      execa(BIN, ['--home', home, 'process', '--json', '--max-concurrent', '3'], {
        env: { ...store, CONDUCTOR_TEST_HOST_ID: host, CONDUCTOR_RESOURCES_FILE: idleReadings(home) },
        reject: false,
      });
    const [ra, rb] = await Promise.all([run(a, 'hosta'), run(b, 'hostb')]);
    expect(ra.exitCode).toBe(0);
    expect(rb.exitCode).toBe(0);
    const events = readLines(log)
      .map((l) => l.split(' '))
      .map(([k, t]) => ({ k, t: BigInt(t) }))
      .sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : x.k === 'end' ? -1 : 1));
    let now = 0;
    let peak = 0;
    for (const e of events) peak = Math.max(peak, (now += e.k === 'start' ? 1 : -1));
    expect(events.filter((e) => e.k === 'start')).toHaveLength(8);
    expect(peak).toBe(3);
    expect(JSON.parse(String(ra.stdout)).started + JSON.parse(String(rb.stdout)).started).toBe(8);
  });

  it('three dispatchers never exceed --max-concurrent together, and each of them makes progress', async () => {
    const homes = [tempHome(), tempHome(), tempHome()];
    const store = storeEnv(homes[2]);
    const log = path.join(workDir(homes[0]), 'spans.txt');
    const span = `echo "start $(date +%s%N) $CONDUCTOR_ENTRY_ID" >> ${log}; sleep 0.2; echo "end $(date +%s%N) $CONDUCTOR_ENTRY_ID" >> ${log}`;
    await ok(homes[0], ['create', 'w', 'W', span, 'event', 'never'], store);
    const ids = (await ok(homes[0], ['queue', 'w', '--count', '60'], store)).trim().split('\n');
    const passes = homes.map((home, i) =>
      execa(BIN, ['--home', home, 'process', '--wait', '--json', '--max-concurrent', '4'], {
        env: { ...store, CONDUCTOR_TEST_HOST_ID: `host${i}`, CONDUCTOR_RESOURCES_FILE: idleReadings(home) },
        reject: false,
      }),
    );
    const results = await Promise.all(passes);
    for (const r of results) expect(r.exitCode, String(r.stderr)).toBe(0);
    const events = readLines(log)
      .map((l) => l.split(' '))
      .map(([k, t, id]) => ({ k, t: BigInt(t), id }))
      .sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : x.k === 'end' ? -1 : 1));
    let now = 0;
    let peak = 0;
    for (const e of events) peak = Math.max(peak, (now += e.k === 'start' ? 1 : -1));
    expect(peak).toBe(4);
    const started = events.filter((e) => e.k === 'start').map((e) => e.id);
    expect(started.sort()).toEqual([...ids].sort());
    const perHost = results.map((r) => JSON.parse(String(r.stdout)).started as number);
    expect(perHost.reduce((a, b) => a + b, 0)).toBe(60);
    for (const n of perHost) expect(n).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('a host that dies mid-run is recovered by another once its lease runs out: abandoned, then retried', async () => {
    const a = tempHome();
    const b = tempHome();
    const store = storeEnv(b);
    const dir = workDir(a);
    await ok(
      a,
      [
        'create',
        'long',
        'Long',
        `echo $$ >> ${dir}/pids; sleep 30; echo done >> ${dir}/done`,
        'event',
        'never',
        '--retries',
        '1',
        '--backoff',
        '1ms',
        '--timeout',
        '5s',
      ],
      store,
    );
    await ok(a, ['queue', 'long'], store);
    const lease = { CONDUCTOR_LEASE_MS: '3000' };
    const hostA = execa(BIN, ['--home', a, 'process', '--daemon'], {
      env: { ...store, ...lease, CONDUCTOR_TEST_HOST_ID: 'hosta', CONDUCTOR_RESOURCES_FILE: idleReadings(a) },
      reject: false,
    });
    for (let i = 0; i < 100 && readLines(`${dir}/pids`).length === 0; i++) await sleep(50);
    expect(readLines(`${dir}/pids`)).toHaveLength(1);
    hostA.kill('SIGKILL');
    await hostA;
    const onB = { ...store, ...lease, CONDUCTOR_TEST_HOST_ID: 'hostb' };
    // Within the lease the run still belongs to host A.
    const early = await json(b, ['process'], onB);
    expect(early.recovered).toBe(0);
    expect((await json<any[]>(b, ['status'], onB)).map((e) => e.status)).toEqual(['running']);
    await sleep(3200);
    const late = await json(b, ['process'], onB);
    expect(late.recovered).toBe(1);
    const hist = await json<any[]>(b, ['history'], onB);
    expect(hist.map((x) => x.status).sort()).toEqual(['abandoned', 'timeout']);
    expect(hist.find((x) => x.status === 'abandoned').error).toMatch(/dispatcher .* is gone/);
    expect(readLines(`${dir}/pids`)).toHaveLength(2);
  }, 60_000);

  it('3 daemons drain 2,000 entries, one killed with kill -9 midway: none lost, none run twice to success', async () => {
    const homes = [tempHome(), tempHome(), tempHome()];
    const store = storeEnv(homes[2]);
    const dir = workDir(homes[0]);
    const out = path.join(dir, 'ran.txt');
    await ok(
      homes[0],
      ['create', 'w', 'W', `echo $CONDUCTOR_ENTRY_ID >> ${out}`, 'event', 'never', '--retries', '2', '--backoff', '1ms'],
      store,
    );
    const ids = (await ok(homes[0], ['queue', 'w', '--count', '2000'], store)).trim().split('\n');
    expect(new Set(ids).size).toBe(2000);
    const daemons: ResultPromise[] = homes.map((home, i) =>
      execa(BIN, ['--home', home, 'process', '--daemon', '--max-concurrent', '4'], {
        env: {
          ...store,
          CONDUCTOR_TEST_HOST_ID: `host${i}`,
          CONDUCTOR_LEASE_MS: '2000',
          CONDUCTOR_RESOURCES_FILE: idleReadings(home),
        },
        reject: false,
      }),
    );
    for (let i = 0; i < 600 && readLines(out).length < 700; i++) await sleep(50);
    expect(readLines(out).length).toBeGreaterThanOrEqual(700);
    daemons[0].kill('SIGKILL');
    await daemons[0];
    const deadline = Date.now() + 90_000;
    let left = -1;
    while (Date.now() < deadline) {
      left = Number(
        sqlOn(homes[2], 'SELECT (SELECT count(*) FROM conductor.queue) + (SELECT count(*) FROM conductor.running)').trim(),
      );
      if (left === 0) break;
      await sleep(250);
    }
    expect(left).toBe(0);
    for (const d of daemons.slice(1)) d.kill('SIGTERM');
    for (const d of daemons.slice(1)) {
      const r = await d;
      expect(r.exitCode, String(r.stderr)).toBe(0);
    }

    const hist = await json<any[]>(homes[1], ['history'], store);
    const successes = new Map<string, number>();
    for (const x of hist) if (x.status === 'success') successes.set(x.entry_id, (successes.get(x.entry_id) ?? 0) + 1);
    const lost = ids.filter((id) => !successes.has(id));
    const twice = [...successes].filter(([, n]) => n > 1);
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    expect(hist.filter((x) => !['success', 'abandoned'].includes(x.status))).toEqual([]);
    // A handler runs a second time only where its first run was cut off by the crash (recorded as abandoned).
    const abandoned = new Set(hist.filter((x) => x.status === 'abandoned').map((x) => x.entry_id));
    const ran = readLines(out);
    const counts = new Map<string, number>();
    for (const id of ran) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(ids.filter((id) => !counts.has(id))).toEqual([]);
    expect([...counts].filter(([id, n]) => n > 1 && !abandoned.has(id))).toEqual([]);
    expect(ran.length).toBeLessThanOrEqual(2000 + abandoned.size);
  }, 150_000);
});
