import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/ids.js';
import { FORMAT, type Entry, type Execution, type Schedule } from '../../src/model.js';
import { parseDefinition } from '../../src/schedule/definition.js';
import { newSchedule } from '../../src/app/schedules.js';
import { FileStore } from '../../src/store/file/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/postgres/migrations/index.js';
import { PgStore } from '../../src/store/postgres/index.js';
import type { HookRecord, Store, TokenRecord } from '../../src/store/store.js';
import { newEntry } from '../../src/app/entries.js';

/**
 * The store contract, run against each backend directly (no CLI): what the
 * dispatcher and the verbs rely on, whichever store holds the records.
 * PostgreSQL runs when CONDUCTOR_TEST_PG names an admin URL.
 */
const PG_ADMIN = process.env.CONDUCTOR_TEST_PG ?? '';

interface Backend {
  open(): Promise<Store>;
  /** Writes a record behind the store's back, as a hand edit or a newer version would. */
  plantSchedule(id: string, body: string): void;
}

const opened: { store: Store; cleanup: () => void }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.store.close();
    o.cleanup();
  }
});

function scratchDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'conductor-store-'));
}

function fileBackend(): Backend {
  let home = '';
  return {
    async open() {
      const dir = scratchDir();
      home = path.join(dir, 'home');
      const store = new FileStore(home);
      store.init();
      opened.push({ store, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) });
      return store;
    },
    plantSchedule(id, body) {
      fs.writeFileSync(path.join(home, 'schedules', `${id}.json`), body);
    },
  };
}

function psql(url: string, sql: string): string {
  return execFileSync('psql', [url, '-qXtAv', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function databaseUrl(name: string): string {
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh database; its URL. */
function newDatabase(): { url: string; drop: () => void } {
  const name = `cs_${timeOrderedId(Date.now()).replace(/-/g, '_')}`;
  psql(PG_ADMIN, `CREATE DATABASE ${name}`);
  return { url: databaseUrl(name), drop: () => psql(PG_ADMIN, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

function pgBackend(): Backend {
  let url = '';
  return {
    async open() {
      const dir = scratchDir();
      const db = newDatabase();
      url = db.url;
      const store = new PgStore(path.join(dir, 'home'), url);
      await store.init();
      opened.push({ store, cleanup: () => (db.drop(), fs.rmSync(dir, { recursive: true, force: true })) });
      return store;
    },
    plantSchedule(id, body) {
      psql(url, `INSERT INTO conductor.schedules (task_id, body) VALUES ('${id}', '${body.replace(/'/g, "''")}')`);
    },
  };
}

const NOW = Date.parse('2026-03-01T12:00:00Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function schedule(id: string): Schedule {
  return newSchedule(
    parseDefinition({ task_id: id, task_name: id, handler: 'true', schedule_type: 'event', schedule_expr: `go.${id}` }),
    NOW,
  );
}

function entry(s: Schedule, over: Partial<Entry> = {}, at = NOW): Entry {
  return { ...newEntry(s, at, { source: 'manual' }), ...over };
}

function execution(e: Entry, startedMs: number): Execution {
  return {
    format: FORMAT,
    execution_id: `${e.entry_id}.1`,
    entry_id: e.entry_id,
    task_id: e.task_id,
    attempt: 1,
    status: 'success',
    exit_code: 0,
    signal: null,
    started_at: new Date(startedMs).toISOString(),
    finished_at: new Date(startedMs + 10).toISOString(),
    duration_ms: 10,
    peak_cpu_percent: null,
    peak_memory_mb: null,
    log: null,
    error: null,
    event: null,
  };
}

const backends: [string, () => Backend, boolean][] = [
  ['file', fileBackend, true],
  ['postgres', pgBackend, PG_ADMIN !== ''],
];

for (const [kind, make, enabled] of backends) {
  describe.runIf(enabled)(`store conformance: ${kind}`, () => {
    it('schedules: create, read, list, update, delete keeps counters; createSchedules is all or none', async () => {
      const store = await make().open();
      expect(await store.createSchedule(schedule('b'))).toBe(true);
      expect(await store.createSchedule(schedule('b'))).toBe(false);
      expect(await store.createSchedules([schedule('a'), schedule('c')])).toBe(true);
      expect(await store.createSchedules([schedule('d'), schedule('b')])).toBe(false);
      expect(await store.scheduleExists('d')).toBe(false);
      expect((await store.listSchedules()).map((s) => s.task_id)).toEqual(['a', 'b', 'c']);
      const changed = await store.updateSchedule('b', (s) => ({ ...s, execution_count: 3, failure_count: 1 }));
      expect(changed?.execution_count).toBe(3);
      expect((await store.readSchedule('b'))?.execution_count).toBe(3);
      expect(await store.updateSchedule('b', () => undefined)).toMatchObject({ execution_count: 3 });
      expect(await store.updateSchedule('nope', (s) => s)).toBeNull();
      expect(await store.deleteSchedule('b')).toBe(true);
      expect(await store.deleteSchedule('b')).toBe(false);
      expect(await store.readSchedule('b')).toBeNull();
      expect(await store.retiredCounters()).toEqual([
        expect.objectContaining({ task_id: 'b', execution_count: 3, failure_count: 1 }),
      ]);
      expect(store.problems).toEqual([]);
    });

    it('queue: enqueue refuses a taken id; enqueueAll queues all; listQueued describes each entry without reading it', async () => {
      const store = await make().open();
      const s = schedule('a');
      await store.createSchedule(s);
      const one = entry(s, { priority: 9, source: 'schedule' });
      expect(await store.enqueue(one)).toBe(true);
      expect(await store.enqueue(one)).toBe(false);
      const group = entry(s, { group: 'g1', attempt: 2, not_before: '2026-03-01T12:05:00.000Z' }, NOW + 5);
      await store.enqueueAll([group, entry(s, {}, NOW + 7)]);
      await expect(Promise.resolve().then(() => store.enqueueAll([one]))).rejects.toThrow(/already exists/);
      const refs = (await store.listQueued()).sort((x, y) => x.enqueued_ms - y.enqueued_ms);
      expect(refs).toHaveLength(3);
      expect(refs[0]).toMatchObject({
        entry_id: one.entry_id,
        task_id: 'a',
        priority: 9,
        attempt: 1,
        enqueued_ms: NOW,
        not_before_ms: null,
        source: 'schedule',
        from_schedule: true,
        grouped: false,
      });
      expect(refs[1]).toMatchObject({
        entry_id: group.entry_id,
        priority: s.priority,
        attempt: 2,
        enqueued_ms: NOW + 5,
        not_before_ms: NOW + 5 * 60_000,
        source: 'manual',
        from_schedule: false,
        grouped: true,
      });
      expect(await store.readQueued(refs[1])).toEqual(group);
    });

    it('claim: many concurrent claimers, each entry runs exactly once', async () => {
      const b = make();
      const store = await b.open();
      const s = schedule('a');
      await store.createSchedule(s);
      const entries = Array.from({ length: 20 }, (_, i) => entry(s, {}, NOW + i));
      await store.enqueueAll(entries);
      const refs = await store.listQueued();
      const won = await Promise.all(
        refs.flatMap((ref) => ['d1', 'd2', 'd3'].map(async (owner) => ({ owner, got: await store.claim(ref, owner, 1000) }))),
      );
      const winners = won.filter((w) => w.got && w.got !== 'full');
      expect(winners.map((w) => (w.got as Entry).entry_id).sort()).toEqual(entries.map((e) => e.entry_id).sort());
      expect(await store.listQueued()).toEqual([]);
      const running = await store.listRunning();
      expect(running).toHaveLength(20);
      expect((await store.runningOwners()).sort()).toEqual(winners.map((w) => w.owner).sort());
    });

    it('claim (a store whose claims enforce the limit): every run counts, also those above a lower limit', async () => {
      const store = await make().open();
      if (!store.claimsEnforceLimit) return; // the file store's limit is the dispatcher's check
      const s = schedule('a');
      await store.createSchedule(s);
      const entries = Array.from({ length: 8 }, (_, i) => entry(s, {}, NOW + i));
      await store.enqueueAll(entries);
      const refs = await store.listQueued();
      // B (limit 5) runs five; two end, three go on in slots 3-5.
      expect((await store.claimAll(refs.slice(0, 5), 'B', 5)).entries).toHaveLength(5);
      for (const e of entries.slice(0, 2)) await store.releaseRunning(e.entry_id, 'B');
      // A's limit is 2: three run, so A starts nothing, though its slots 1 and 2 are free.
      expect(await store.claimAll(refs.slice(5), 'A', 2)).toEqual({ entries: [], full: true });
      // Under a limit of 4, one more may start.
      const more = await store.claimAll(refs.slice(5), 'A', 4);
      expect(more.entries.map((e) => e.entry_id)).toEqual([entries[5].entry_id]);
      expect(more.full).toBe(true);
    });

    it('takeQueued against claim: exactly one wins; a taken entry is gone', async () => {
      const store = await make().open();
      const s = schedule('a');
      await store.createSchedule(s);
      for (let i = 0; i < 10; i++) {
        const e = entry(s, {}, NOW + i);
        await store.enqueue(e);
        const [ref] = (await store.listQueued()).filter((r) => r.entry_id === e.entry_id);
        const [taken, claimed] = await Promise.all([store.takeQueued(e.entry_id), store.claim(ref, 'd1', 1000)]);
        expect([taken, claimed].filter((x) => x && x !== 'full')).toHaveLength(1);
        if (claimed && claimed !== 'full') await store.releaseRunning(e.entry_id, 'd1');
      }
      expect(await store.listQueued()).toEqual([]);
      expect(await store.takeQueued('nothing-here')).toBeNull();
    });

    it('running: takeOver moves an owner once; entryIsLive and hasLiveEntryFor see queue, running and dlq', async () => {
      const store = await make().open();
      const s = schedule('a');
      await store.createSchedule(s);
      const e = entry(s);
      await store.enqueue(e);
      expect(await store.hasLiveEntryFor('a')).toBe(true);
      const [ref] = await store.listQueued();
      expect(await store.claim(ref, 'gone', 1000)).toEqual(e);
      expect(await store.entryIsLive(e.entry_id)).toBe(true);
      expect(await store.entryIsLive(e.entry_id, 'gone')).toBe(false);
      const [rec] = await store.listRunning();
      expect(await store.takeOver(rec, 'me')).toBe(true);
      expect(await store.takeOver(rec, 'other')).toBe(false);
      expect(await store.runningOwners()).toEqual(['me']);
      await store.releaseRunning(e.entry_id, 'me');
      expect(await store.hasLiveEntryFor('a')).toBe(false);
      expect(await store.entryIsLive(e.entry_id)).toBe(false);
    });

    it('promote: the schedule and its runs commit together; recovered runs are queued only if never queued', async () => {
      const store = await make().open();
      const s = schedule('a');
      await store.createSchedule(s);
      const first = entry(s, { source: 'schedule' });
      const queued = await store.promote('a', (cur) => ({
        schedule: { ...cur, execution_count: 1 },
        fresh: [first],
        recover: [],
      }));
      expect(queued).toEqual([first]);
      expect(await store.readSchedule('a')).toMatchObject({ execution_count: 1, pending: null });
      // A crash cut a promotion short: `first` made it, `lost` did not; `ran` was queued, ran and was recorded.
      const lost = entry(s, { source: 'schedule' }, NOW + 1);
      const ran = entry(s, { source: 'schedule' }, NOW + 2);
      await store.recordExecution(execution(ran, NOW));
      const again = await store.promote('a', (cur) => ({ schedule: cur, fresh: [], recover: [first, lost, ran] }));
      expect(again).toEqual([lost]);
      expect((await store.listQueued()).map((r) => r.entry_id).sort()).toEqual([first.entry_id, lost.entry_id].sort());
      expect(await store.promote('a', () => undefined)).toEqual([]);
      expect(
        await store.promote('missing', () => {
          throw new Error('not called');
        }),
      ).toEqual([]);
    });

    it('watchQueue: told of what enqueue, enqueueAll and promote queue once it is committed; not of claims', async () => {
      const store = await make().open();
      const s = schedule('a');
      await store.createSchedule(s);
      let calls = 0;
      const unwatch = await store.watchQueue!(
        () => calls++,
        (m) => {
          throw new Error(`unexpected note: ${m}`);
        },
      );
      // Told within 2 s; not told: nothing within half a second (a notice takes a few ms).
      const told = async (what: () => unknown, waitMs = 2000) => {
        const before = calls;
        await what();
        for (let waited = 0; waited < waitMs && calls === before; waited += 20) await sleep(20);
        return calls > before;
      };
      try {
        expect(await told(() => store.enqueue(entry(s)))).toBe(true);
        expect(await told(() => store.enqueueAll([entry(s, {}, NOW + 1), entry(s, {}, NOW + 2)]))).toBe(true);
        const due = entry(s, { source: 'schedule' }, NOW + 3);
        expect(await told(() => store.promote('a', (cur) => ({ schedule: cur, fresh: [due], recover: [] })))).toBe(true);
        // Nothing is told of a queueing that was rolled back (PostgreSQL: NOTIFY goes out at commit).
        const taken = entry(s, {}, NOW + 4);
        await store.enqueue(taken);
        await sleep(200);
        const failed = kind === 'postgres' ? [entry(s, {}, NOW + 5), taken] : [taken];
        expect(
          await told(
            () =>
              Promise.resolve()
                .then(() => store.enqueueAll(failed))
                .catch(() => undefined),
            500,
          ),
        ).toBe(false);
        expect(
          await told(async () => {
            for (const ref of await store.listQueued()) expect(await store.claim(ref, 'd1', 1000)).toBeTruthy();
          }, 500),
        ).toBe(false);
      } finally {
        unwatch();
      }
    });

    it('enqueueAll: 5,000 entries are all or none when one id is queued already; a commit is told once', async () => {
      const store = await make().open();
      const s = schedule('a');
      await store.createSchedule(s);
      const entries = Array.from({ length: 5000 }, (_, i) => entry(s, {}, NOW + i));
      const taken = entries[4321];
      await store.enqueue(taken);
      let calls = 0;
      const unwatch = await store.watchQueue!(
        () => calls++,
        (m) => {
          throw new Error(`unexpected note: ${m}`);
        },
      );
      try {
        await expect(Promise.resolve().then(() => store.enqueueAll(entries))).rejects.toThrow(
          `entry id '${taken.entry_id}' already exists`,
        );
        expect((await store.listQueued()).map((r) => r.entry_id)).toEqual([taken.entry_id]);
        await sleep(300);
        expect(calls).toBe(0);
        await store.takeQueued(taken.entry_id);
        await store.enqueueAll(entries);
        expect(await store.listQueued()).toHaveLength(5000);
        await sleep(500);
        // PostgreSQL: one notice for the whole batch. The file store's watch sees each file arrive.
        if (kind === 'postgres') expect(calls).toBe(1);
        else expect(calls).toBeGreaterThan(0);
      } finally {
        unwatch();
      }
    });

    it("settleRun (a store with transactions): everything a run's end writes commits together, or nothing does", async () => {
      const store = await make().open();
      if (!store.settleRun) return; // the file store writes in order, the release last (dispatch/settle.ts)
      const s = schedule('a');
      await store.createSchedule(s);
      const [e, listener] = [entry(s, { max_attempts: 2 }), entry(s, {}, NOW + 1)];
      await store.enqueue(e);
      const [ref] = await store.listQueued();
      expect(await store.claim(ref, 'd1', 4)).toMatchObject({ entry_id: e.entry_id });
      const failed: Execution = { ...execution(e, NOW), status: 'failed', exit_code: 1 };
      const retry: Entry = { ...e, attempt: 2 };
      const event = {
        at: new Date(NOW).toISOString(),
        event: 'task.failed',
        payload: null,
        depth: 1,
        queued: [listener.entry_id],
      };
      const plan = {
        execution: failed,
        owner: 'd1',
        queue: [retry, listener],
        deadLetter: null,
        outcome: { format: FORMAT, entry_id: e.entry_id, group: 'g', status: 'failed' },
        event,
      };
      // A write that fails part-way (here the breaker's change, the last but one) leaves nothing of it.
      const boom = () => {
        throw new Error('boom');
      };
      await expect(store.settleRun({ ...plan, breaker: { name: 'a', change: boom } })).rejects.toThrow(/boom/);
      expect(await store.executionExists(failed.execution_id)).toBe(false);
      expect(await store.listQueued()).toEqual([]);
      expect(await store.groupResult(e.entry_id)).toBeNull();
      expect(await store.listEvents(10)).toEqual([]);
      expect((await store.listRunning()).map((r) => r.owner)).toEqual(['d1']);
      // Done whole: recorded, retried, listener queued, outcome, breaker and event written, released.
      const opened = (b: any) => ({ ...b, consecutive_failures: b.consecutive_failures + 1 });
      await store.settleRun({ ...plan, breaker: { name: 'a', change: opened } });
      expect(await store.executionExists(failed.execution_id)).toBe(true);
      expect((await store.listQueued()).map((r) => r.entry_id).sort()).toEqual([e.entry_id, listener.entry_id].sort());
      expect(await store.groupResult(e.entry_id)).toBe('failed');
      expect((await store.readBreaker('a'))?.consecutive_failures).toBe(1);
      expect((await store.listEvents(10)).map((x) => x.event)).toEqual(['task.failed']);
      expect(await store.listRunning()).toEqual([]);
    });

    it('history: recorded executions list newest first, by task and limit; the same record twice is one', async () => {
      const store = await make().open();
      const a = schedule('a');
      const b = schedule('b');
      const xs = [
        execution(entry(a), NOW),
        execution(entry(b, {}, NOW + 1), NOW + 1000),
        execution(entry(a, {}, NOW + 2), NOW + 2000),
      ];
      for (const x of xs) await store.recordExecution(x);
      await store.recordExecution(xs[0]);
      expect((await store.listExecutions()).map((x) => x.execution_id)).toEqual([xs[2], xs[1], xs[0]].map((x) => x.execution_id));
      expect((await store.listExecutions({ taskId: 'a' })).map((x) => x.execution_id)).toEqual([
        xs[2].execution_id,
        xs[0].execution_id,
      ]);
      expect(await store.listExecutions({ limit: 1 })).toEqual([xs[2]]);
      expect(await store.getExecution(xs[1].execution_id)).toEqual(xs[1]);
      expect(await store.executionExists('none.1')).toBe(false);
      expect(store.logPath(xs[0].execution_id)).toBe(path.join(store.home, 'logs', `${xs[0].execution_id}.log`));
      expect((await store.readLog(xs[0])).length).toBe(0);
      expect(store.problems).toEqual([]);
    });

    it('dead letters: listed, taken once; groups settle final outcomes only; cancel requests', async () => {
      const store = await make().open();
      const s = schedule('a');
      const e = entry(s, { group: 'g' });
      await store.toDlq({ ...e, dead_at: '2026-03-01T12:00:00Z', last_exit_code: 3, last_error: 'boom', log_tail: 'x' });
      expect((await store.listDlq()).map((d) => d.entry_id)).toEqual([e.entry_id]);
      expect(await store.entryIsLive(e.entry_id)).toBe(true);
      const [t1, t2] = await Promise.all([store.takeDlq(e.entry_id), store.takeDlq(e.entry_id)]);
      expect([t1, t2].filter(Boolean)).toHaveLength(1);
      expect(await store.listDlq()).toEqual([]);

      await store.settleGroup(e, 'failed', true);
      expect(await store.groupResult(e.entry_id)).toBeNull();
      await store.settleGroup(e, 'succeeded', false);
      expect(await store.groupResult(e.entry_id)).toBe('succeeded');
      await store.settleGroup(entry(s), 'failed', false);

      await store.requestCancel(e.entry_id);
      await store.requestCancel(e.entry_id);
      expect(await store.cancelRequests()).toEqual([e.entry_id]);
      await store.clearCancel(e.entry_id);
      expect(await store.cancelRequests()).toEqual([]);
    });

    it('breakers: concurrent read-modify-writes lose no update', async () => {
      const store = await make().open();
      await Promise.all(
        Array.from({ length: 8 }, () =>
          store.updateBreaker('db', (b) => ({ ...b, consecutive_failures: b.consecutive_failures + 1 })),
        ),
      );
      expect(await store.readBreaker('db')).toMatchObject({ name: 'db', state: 'closed', consecutive_failures: 8 });
      await store.updateBreaker('db', (b) => ({ ...b, state: 'open', opened_at: '2026-03-01T12:00:00Z' }));
      expect((await store.listBreakers()).map((b) => [b.name, b.state])).toEqual([['db', 'open']]);
      expect(await store.updateBreaker('db', () => undefined)).toMatchObject({ state: 'open' });
    });

    it('state: pause, documents and events', async () => {
      const store = await make().open();
      expect(await store.isPaused()).toBe(false);
      await store.setPaused(true, '2026-03-01T12:00:00Z');
      expect(await store.isPaused()).toBe(true);
      await store.setPaused(false, '2026-03-01T12:00:00Z');
      expect(await store.isPaused()).toBe(false);
      await store.writeState('doc', { n: 1 });
      expect(await store.readState('doc')).toEqual({ n: 1 });
      expect(await store.readState('none')).toBeNull();
      for (const n of [1, 2, 3])
        await store.appendEvent({ at: `2026-03-01T12:00:0${n}Z`, event: `e${n}`, payload: null, depth: 0, queued: [] });
      expect((await store.listEvents(2)).map((r) => r.event)).toEqual(['e3', 'e2']);
    });

    it('access: tokens and hooks are created once by name, listed in name order, read and deleted', async () => {
      const store = await make().open();
      const token = (name: string): TokenRecord => ({
        format: FORMAT,
        name,
        scope: 'operate',
        hash: `sha256:${'ab'.repeat(32)}`,
        created_at: '2026-03-01T12:00:00Z',
        expires_at: null,
      });
      const hook = (name: string): HookRecord => ({
        format: FORMAT,
        name,
        event: 'deploy.requested',
        secret: `whsec_${'A'.repeat(43)}`,
        created_at: '2026-03-01T12:00:00Z',
      });
      for (const n of ['b', 'a']) expect(await store.createToken(token(n))).toBe(true);
      expect(await store.createToken({ ...token('a'), scope: 'admin' })).toBe(false);
      expect(await store.listTokens()).toEqual([token('a'), token('b')]);
      expect(await store.deleteToken('a')).toBe(true);
      expect(await store.deleteToken('a')).toBe(false);
      expect((await store.listTokens()).map((t) => t.name)).toEqual(['b']);
      expect(await store.createHook(hook('gh'))).toBe(true);
      expect(await store.createHook({ ...hook('gh'), event: 'other' })).toBe(false);
      expect(await store.readHook('gh')).toEqual(hook('gh'));
      expect(await store.readHook('none')).toBeNull();
      expect(await store.listHooks()).toEqual([hook('gh')]);
      expect(await store.deleteHook('gh')).toBe(true);
      expect(await store.deleteHook('gh')).toBe(false);
      expect(await store.readHook('gh')).toBeNull();
      expect(store.problems).toEqual([]);
    });

    it('a bad record is quarantined with its reason and reported; the others are read', async () => {
      const b = make();
      const store = await b.open();
      await store.createSchedule(schedule('good'));
      b.plantSchedule('bad', JSON.stringify({ ...schedule('bad'), priority: 99 }));
      expect((await store.listSchedules()).map((s) => s.task_id)).toEqual(['good']);
      expect(store.problems).toEqual([
        expect.objectContaining({ reason: expect.stringMatching(/priority/), moved_to: expect.stringMatching(/^quarantine\//) }),
      ]);
      expect(await store.listQuarantine()).toEqual([expect.objectContaining({ reason: expect.stringMatching(/priority/) })]);
      expect(await store.scheduleExists('bad')).toBe(false);
    });
  });
}

/** A fresh database whose schema is at an older version (migrations 1..version applied, as that release left it). */
function databaseAt(version: number): { url: string; drop: () => void } {
  const db = newDatabase();
  psql(
    db.url,
    `CREATE SCHEMA conductor; CREATE TABLE conductor.meta (key text PRIMARY KEY, value text NOT NULL);
    ${MIGRATIONS.slice(0, version).join(' ')} INSERT INTO conductor.meta VALUES ('schema_version', '${version}')`,
  );
  return db;
}

describe.runIf(PG_ADMIN !== '')('postgres migrations 3 and 5: the queue gets real columns, runs get slots', () => {
  it('migration 5: runs of the version before hold slots, so the limit counts them', async () => {
    const db = databaseAt(4);
    const dir = scratchDir();
    try {
      const s = schedule('a');
      const running = [entry(s), entry(s, {}, NOW + 1)];
      psql(
        db.url,
        `INSERT INTO conductor.running (entry_id, owner, task_id, body) VALUES ${running
          .map((e) => `('${e.entry_id}', 'old', 'a', '${JSON.stringify(e)}')`)
          .join(', ')}`,
      );
      const store = new PgStore(path.join(dir, 'home'), db.url);
      try {
        expect(await store.migrate()).toEqual([4, SCHEMA_VERSION]);
        const queued = entry(s, {}, NOW + 2);
        await store.enqueue(queued);
        const [ref] = await store.listQueued();
        // Both slots of a limit of 2 are the old runs': full. A third slot is free.
        expect(await store.claim(ref, 'new', 2)).toBe('full');
        expect(await store.claim(ref, 'new', 3)).toMatchObject({ entry_id: queued.entry_id });
        // Releasing an old run frees its slot.
        await store.releaseRunning(running[0].entry_id, 'old');
        expect(psql(db.url, 'SELECT count(*) FROM conductor.slots WHERE entry_id IS NOT NULL').trim()).toBe('2');
      } finally {
        await store.close();
      }
    } finally {
      db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('converts rows from their names, sets aside a row whose name is not in form, and ranks as before', async () => {
    const db = databaseAt(2);
    const dir = scratchDir();
    try {
      const s = schedule('a');
      const e1 = entry(s, { priority: 7, source: 'schedule' });
      const e2 = entry(s, { attempt: 3, source: 'retry', group: 'g', not_before: '2026-03-01T12:10:00.000Z' }, NOW + 1);
      const row = (e: Entry, name: string) => `('${e.entry_id}', '${name}', 'a', '${JSON.stringify(e)}')`;
      psql(
        db.url,
        `INSERT INTO conductor.queue (entry_id, name, task_id, body) VALUES
        ${row(e1, `${e1.entry_id}~p7~a1~s~n0~a.json`)},
        ${row(e2, `${e2.entry_id}~p5~a3~rg~n${NOW + 600_000}~a.json`)},
        ('junk', 'junk', 'a', '{"x": 1}')`,
      );
      const store = new PgStore(path.join(dir, 'home'), db.url);
      try {
        expect(await store.migrate()).toEqual([2, SCHEMA_VERSION]);
        const refs = (await store.listQueued()).sort((x, y) => x.enqueued_ms - y.enqueued_ms);
        expect(refs).toEqual([
          {
            entry_id: e1.entry_id,
            task_id: 'a',
            priority: 7,
            attempt: 1,
            enqueued_ms: NOW,
            not_before_ms: null,
            source: 'schedule',
            from_schedule: true,
            grouped: false,
            name: e1.entry_id,
          },
          {
            entry_id: e2.entry_id,
            task_id: 'a',
            priority: 5,
            attempt: 3,
            enqueued_ms: NOW + 1,
            not_before_ms: NOW + 600_000,
            source: 'retry',
            from_schedule: false,
            grouped: true,
            name: e2.entry_id,
          },
        ]);
        expect(await store.listQuarantine()).toEqual([
          { file: expect.stringMatching(/\(queue\/junk\)$/), reason: "not a queue entry (its name is not in conductor's form)" },
        ]);
        expect(
          psql(
            db.url,
            `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'conductor' AND table_name = 'queue' AND column_name = 'name'`,
          ).trim(),
        ).toBe('0');
        expect(() =>
          psql(
            db.url,
            `INSERT INTO conductor.queue (entry_id, task_id, body, priority, attempt, enqueued_at, source, from_schedule, grouped) VALUES ('x', 'a', '{}', 11, 1, now(), 'manual', false, false)`,
          ),
        ).toThrow(/queue_priority/);
      } finally {
        await store.close();
      }
    } finally {
      db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
