import * as os from 'node:os';
import * as path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { InputError, RunError } from '../errors.js';
import { checkId } from '../ids.js';
import { FORMAT, type DeadLetter, type Entry, type Execution, type QueuedRef, type Schedule } from '../model.js';
import { tokenAlive, tokenIsLocal } from '../run/proc.js';
import { readBytes } from './atomic.js';
import { homeTrustProblems, openHome, resolveHome } from './home-check.js';
import { MIGRATIONS, SCHEMA_VERSION } from './pg-schema.js';
import { deadLetterProblem, entryProblem, scheduleProblem, type Checks } from './check.js';
import { parseQueueName, queueName } from './queue-names.js';
import {
  newBreaker, retiredCountersOf, retiredKey, type RetiredCounters, type Awaitable, type BreakerRecord, type EventRecord, type Problem, type PromotionPlan, type RunningRecord, type Store, type StoreFinding,
} from './store.js';

/** How long a dispatcher on another host may go without a heartbeat before its runs are taken over. */
function leaseMs(): number {
  const n = Number(process.env.CONDUCTOR_LEASE_MS);
  return Number.isInteger(n) && n > 0 ? n : 30_000;
}

/** State rows holding the counters of deleted schedules. */
const RETIRED = 'retired-counters:';
const MIGRATE_LOCK = 'conductor:migrate';
const CLAIM_LOCK = 'conductor:claim';

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * The PostgreSQL store: the same records as the file store, as rows, so that
 * dispatchers on several hosts share one queue. A claim is a transaction that
 * locks the entry's row (FOR UPDATE SKIP LOCKED), counts what runs on every
 * host and moves the row to `running`; owners keep a lease by heartbeat.
 */
/** What the PostgreSQL store keeps in the local home. */
const LOCAL_DIRS = ['logs', 'state'];

export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  readonly home: string;
  /** The home as the user named it, for messages when it is a link. */
  private readonly named: string;
  readonly problems: Problem[] = [];
  readonly location: string;
  private pool: Pool;
  private renewedAt = -Infinity;

  /** `checks`: how deeply schedules are checked when read (see Checks); every row is checked. */
  constructor(home: string, url: string, private readonly checks: Checks = 'full') {
    this.named = path.resolve(home);
    this.home = resolveHome(home);
    this.location = redact(url);
    const pg = require('pg') as typeof import('pg');
    // Timestamps travel as text: records keep the ISO strings they were written with.
    this.pool = new pg.Pool({ connectionString: url, max: 6, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
    this.pool.on('error', () => undefined); // an idle client dropped by the server is replaced on next use
  }

  private async q<R = any>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query(text, values)).rows as R[];
    } catch (err) {
      throw this.wrap(err);
    }
  }

  private wrap(err: unknown): Error {
    const e = err as { code?: string; message?: string };
    if (e.code === '42P01' || e.code === '3F000') return new RunError(`database ${this.location} has no conductor schema: run 'conductor migrate'`);
    // Our own errors (a change callback refusing bad input, say) keep their exit code.
    if (err instanceof RunError || err instanceof InputError) return err;
    return new RunError(`database ${this.location}: ${e.message ?? String(err)}`);
  }

  /** One pooled connection for `fn`, released whatever happens. */
  private async session<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw this.wrap(err);
    }
    try {
      return await fn(c);
    } catch (err) {
      throw this.wrap(err);
    } finally {
      c.release();
    }
  }

  private tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.session((c) => inTransaction(c, () => fn(c)));
  }

  /** Holds a session-level advisory lock (every host sees it) while `fn` runs. */
  private locked<T>(key: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.session(async (c) => {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
      try {
        return await fn(c);
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
      }
    });
  }

  // ---------- schema ----------

  /** The schema version of the database, 0 when it has none. */
  async schemaVersion(): Promise<number> {
    const [t] = await this.q<{ t: string | null }>(`SELECT to_regclass('conductor.meta')::text AS t`);
    if (!t?.t) return 0;
    const rows = await this.q<{ value: string }>(`SELECT value FROM conductor.meta WHERE key = 'schema_version'`);
    return rows[0] ? Number(rows[0].value) : 0;
  }

  /** Applies the migrations the database lacks; returns [from, to]. */
  async migrate(): Promise<[number, number]> {
    return this.locked(MIGRATE_LOCK, async (c) => {
      await c.query('CREATE SCHEMA IF NOT EXISTS conductor');
      await c.query('CREATE TABLE IF NOT EXISTS conductor.meta (key text PRIMARY KEY, value text NOT NULL)');
      const cur = await c.query(`SELECT value FROM conductor.meta WHERE key = 'schema_version'`);
      const from = cur.rows[0] ? Number(cur.rows[0].value) : 0;
      if (from > SCHEMA_VERSION) throw new RunError(`database ${this.location} has schema version ${from}, newer than this conductor (${SCHEMA_VERSION})`);
      for (let v = from + 1; v <= SCHEMA_VERSION; v++) {
        await inTransaction(c, async () => {
          await c.query(MIGRATIONS[v - 1]);
          await c.query(
            `INSERT INTO conductor.meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = $1`,
            [String(v)],
          );
        });
      }
      return [from, SCHEMA_VERSION] as [number, number];
    });
  }

  /**
   * A database without any conductor schema is set up on first use, as the
   * file store creates its home; one at an older version is left for an
   * explicit `conductor migrate`, since hosts may still run the old code.
   */
  /**
   * Rows have no owner: whoever can write to the database decides what runs,
   * so its roles are the trust boundary. The local home (logs, the daemon's
   * files) is checked as the file store's is.
   */
  trustForRun(): void {
    const problems = homeTrustProblems(this.home, LOCAL_DIRS, process.geteuid!());
    if (problems.length) throw new RunError(problems[0] + (problems.length > 1 ? ` (and ${problems.length - 1} more; see conductor health)` : ''));
  }

  async init(): Promise<void> {
    openHome(this.home, LOCAL_DIRS, this.named);
    const v = await this.schemaVersion();
    if (v === 0) {
      await this.migrate();
      return;
    }
    if (v < SCHEMA_VERSION) throw new RunError(`database ${this.location} has schema version ${v}, this conductor needs ${SCHEMA_VERSION}: run 'conductor migrate'`);
    if (v > SCHEMA_VERSION) throw new RunError(`database ${this.location} has schema version ${v}, newer than this conductor (${SCHEMA_VERSION})`);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  // ---------- dispatchers ----------

  async attach(owner: string): Promise<void> {
    this.renewedAt = -Infinity;
    await this.heartbeat(owner);
  }

  /** Called every round of the dispatcher; renews the lease three times per lease period. */
  async heartbeat(owner: string): Promise<void> {
    const now = Date.now();
    if (now - this.renewedAt < leaseMs() / 3) return;
    this.renewedAt = now;
    await this.q(
      `INSERT INTO conductor.dispatchers (owner, host, pid, seen_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (owner) DO UPDATE SET seen_at = now()`,
      [owner, os.hostname(), process.pid],
    );
  }

  /** On this host /proc is the truth; a dispatcher elsewhere lives while its lease is fresh. */
  async ownerAlive(owner: string): Promise<boolean> {
    if (tokenIsLocal(owner)) return tokenAlive(owner);
    const rows = await this.q(
      `SELECT 1 FROM conductor.dispatchers WHERE owner = $1 AND seen_at > now() - make_interval(secs => $2::double precision / 1000)`,
      [owner, leaseMs()],
    );
    return rows.length > 0;
  }

  async housekeep(): Promise<string[]> {
    await this.q(`DELETE FROM conductor.dispatchers WHERE seen_at < now() - interval '7 days'
                  AND owner NOT IN (SELECT owner FROM conductor.running)`);
    return [];
  }

  async healthFindings(): Promise<StoreFinding[]> {
    const v = await this.schemaVersion();
    const hosts = await this.q<{ n: string }>(
      `SELECT count(*) AS n FROM conductor.dispatchers WHERE seen_at > now() - make_interval(secs => $1::double precision / 1000)`,
      [leaseMs()],
    );
    const trust = homeTrustProblems(this.home, LOCAL_DIRS, process.geteuid!());
    return [
      { check: 'permissions', ok: trust.length === 0, message: trust.length ? trust.join('; ') : `home ${this.home} is private to its owner` },
      { check: 'database', ok: v === SCHEMA_VERSION, message: `${this.location} at schema version ${v} (this conductor: ${SCHEMA_VERSION})` },
      { check: 'dispatchers', ok: true, message: `${hosts[0].n} dispatcher(s) with a live lease` },
    ];
  }

  async listQuarantine(): Promise<{ file: string; reason: string }[]> {
    const rows = await this.q<{ id: string; source: string; reason: string }>('SELECT id, source, reason FROM conductor.quarantine ORDER BY id');
    return rows.map((r) => ({ file: `quarantine/${r.id} (${r.source})`, reason: r.reason }));
  }

  /** Sets an unusable row aside (written by hand or by a newer version), so that the rest works. */
  private async quarantine(table: string, key: string, keyValue: string, body: unknown, reason: string): Promise<void> {
    await this.tx((c) => this.quarantineIn(c, table, key, keyValue, body, reason));
  }

  /** The same inside a transaction the caller holds. */
  private async quarantineIn(c: PoolClient, table: string, key: string, keyValue: string, body: unknown, reason: string): Promise<void> {
    const del = await c.query(`DELETE FROM conductor.${table} WHERE ${key} = $1`, [keyValue]);
    if (del.rowCount) await this.keepAside(c, `${table}/${keyValue}`, body, reason);
  }

  /** Records a row already taken out of its table (take, claim) in the quarantine, and reports it. */
  private async keepAside(c: PoolClient | null, source: string, body: unknown, reason: string): Promise<void> {
    const sql = 'INSERT INTO conductor.quarantine (source, reason, body) VALUES ($1, $2, $3) RETURNING id';
    const rows = c ? (await c.query(sql, [source, reason, JSON.stringify(body)])).rows : await this.q(sql, [source, reason, JSON.stringify(body)]);
    this.problems.push({ file: source, reason, moved_to: `quarantine/${rows[0].id}` });
  }

  /** Why a queue, running or dead-letter body cannot be used, or null. */
  private entryWhy(body: any, key: string, problem: (v: unknown) => string | null = entryProblem): string | null {
    return problem(body) ?? (body.entry_id === key ? null : 'entry_id does not match the row key');
  }

  /** The row's entry if it is usable; otherwise it is quarantined and null returned. */
  private async checkedEntry<T>(table: string, key: string, body: any, problem?: (v: unknown) => string | null): Promise<T | null> {
    const why = this.entryWhy(body, key, problem);
    if (!why) return body as T;
    await this.quarantine(table, 'entry_id', key, body, why);
    return null;
  }

  // ---------- schedules ----------

  private async checkedSchedule(row: { task_id: string; body: any }): Promise<Schedule | null> {
    const why = scheduleProblem(row.body, row.task_id, 'row key', this.checks);
    if (!why) return row.body as Schedule;
    await this.quarantine('schedules', 'task_id', row.task_id, row.body, why);
    return null;
  }

  async readSchedule(id: string): Promise<Schedule | null> {
    const rows = await this.q('SELECT task_id, body FROM conductor.schedules WHERE task_id = $1', [checkId(id)]);
    return rows[0] ? this.checkedSchedule(rows[0]) : null;
  }

  async scheduleExists(id: string): Promise<boolean> {
    return (await this.q('SELECT 1 FROM conductor.schedules WHERE task_id = $1', [checkId(id)])).length > 0;
  }

  async listSchedules(): Promise<Schedule[]> {
    const out: Schedule[] = [];
    for (const row of await this.q('SELECT task_id, body FROM conductor.schedules ORDER BY task_id COLLATE "C"')) {
      const s = await this.checkedSchedule(row);
      if (s) out.push(s);
    }
    return out;
  }

  async createSchedule(s: Schedule): Promise<boolean> {
    const rows = await this.q(
      'INSERT INTO conductor.schedules (task_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1',
      [checkId(s.task_id), JSON.stringify(s)],
    );
    return rows.length > 0;
  }

  async createSchedules(list: Schedule[]): Promise<boolean> {
    try {
      await this.tx(async (c) => {
        for (const s of list) {
          const r = await c.query('INSERT INTO conductor.schedules (task_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING', [checkId(s.task_id), JSON.stringify(s)]);
          if (!r.rowCount) throw new IdTaken(s.task_id); // rolls the others back
        }
      });
      return true;
    } catch (err) {
      if (err instanceof IdTaken) return false;
      throw err;
    }
  }

  /** One transaction: the schedule's new state and its entries commit together or not at all. */
  async promote(id: string, plan: (s: Schedule) => Awaitable<PromotionPlan | undefined>): Promise<Entry[]> {
    return this.tx(async (c) => {
      const r = await c.query('SELECT body FROM conductor.schedules WHERE task_id = $1 FOR UPDATE', [checkId(id)]);
      const p = r.rows[0] && await plan(r.rows[0].body as Schedule);
      if (!p) return [];
      const queued: Entry[] = [];
      for (const e of p.recover) if (!(await everQueued(c, e.entry_id)) && (await insertEntry(c, e))) queued.push(e);
      for (const e of p.fresh) if (await insertEntry(c, e)) queued.push(e);
      await c.query('UPDATE conductor.schedules SET body = $2 WHERE task_id = $1', [id, JSON.stringify({ ...p.schedule, pending: null })]);
      return queued;
    });
  }

  async updateSchedule(id: string, change: (s: Schedule) => Awaitable<Schedule | undefined>): Promise<Schedule | null> {
    return this.tx(async (c) => {
      const r = await c.query('SELECT body FROM conductor.schedules WHERE task_id = $1 FOR UPDATE', [checkId(id)]);
      if (!r.rows[0]) return null;
      const why = scheduleProblem(r.rows[0].body, id, 'row key', this.checks);
      if (why) {
        await this.quarantineIn(c, 'schedules', 'task_id', id, r.rows[0].body, why);
        return null;
      }
      const cur = r.rows[0].body as Schedule;
      const next = await change(cur);
      if (next === undefined) return cur;
      await c.query('UPDATE conductor.schedules SET body = $2 WHERE task_id = $1', [id, JSON.stringify(next)]);
      return next;
    });
  }

  /** The schedule's counters move to a state row in the same transaction as the delete. */
  async deleteSchedule(id: string): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query('DELETE FROM conductor.schedules WHERE task_id = $1 RETURNING body', [checkId(id)]);
      if (!r.rows[0]) return false;
      const kept = retiredCountersOf(r.rows[0].body, FORMAT);
      if (kept) {
        await c.query('INSERT INTO conductor.state (name, body) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET body = $2', [`${RETIRED}${retiredKey(kept)}`, JSON.stringify(kept)]);
      }
      return true;
    });
  }

  async retiredCounters(): Promise<RetiredCounters[]> {
    return (await this.q(`SELECT body FROM conductor.state WHERE starts_with(name, $1)`, [RETIRED])).map((r) => r.body as RetiredCounters);
  }

  async withLock<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return this.locked(`conductor:${name}`, async () => fn());
  }

  // ---------- queue ----------

  async enqueue(entry: Entry): Promise<boolean> {
    const rows = await this.q(
      'INSERT INTO conductor.queue (entry_id, name, task_id, body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1',
      [entry.entry_id, queueName(entry), entry.task_id, JSON.stringify(entry)],
    );
    return rows.length > 0;
  }

  async enqueueAll(entries: Entry[]): Promise<void> {
    await this.tx(async (c) => {
      for (const e of entries) {
        if (!(await insertEntry(c, e))) throw new RunError(`entry id '${e.entry_id}' already exists`);
      }
    });
  }

  /** The same compact references as the file store's names: ranking never reads bodies. */
  async listQueued(): Promise<QueuedRef[]> {
    const out: QueuedRef[] = [];
    for (const r of await this.q<{ entry_id: string; name: string }>('SELECT entry_id, name FROM conductor.queue')) {
      const ref = parseQueueName(r.name);
      if (ref && ref.entry_id === r.entry_id) out.push(ref);
      else {
        // A row not written by conductor (or by a newer one): set aside and reported, never silently skipped.
        const body = (await this.q('SELECT body FROM conductor.queue WHERE entry_id = $1', [r.entry_id]))[0]?.body ?? null;
        await this.quarantine('queue', 'entry_id', r.entry_id, body, 'not a queue entry (its name is not in conductor\'s form)');
      }
    }
    return out;
  }

  async readQueued(ref: QueuedRef): Promise<Entry | null> {
    const rows = await this.q('SELECT body FROM conductor.queue WHERE entry_id = $1', [ref.entry_id]);
    return rows[0] ? this.checkedEntry<Entry>('queue', ref.entry_id, rows[0].body) : null;
  }

  async claim(ref: QueuedRef, owner: string, maxRunning: number): Promise<Entry | null | 'full'> {
    return this.tx(async (c) => {
      // Claims queue on one lock so the count below cannot be raced: the limit is global across hosts.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CLAIM_LOCK]);
      const n = await c.query('SELECT count(*)::int AS n FROM conductor.running');
      if (n.rows[0].n >= maxRunning) return 'full' as const;
      const r = await c.query('SELECT body FROM conductor.queue WHERE entry_id = $1 FOR UPDATE SKIP LOCKED', [ref.entry_id]);
      if (!r.rows[0]) return null;
      const why = this.entryWhy(r.rows[0].body, ref.entry_id);
      if (why) {
        await this.quarantineIn(c, 'queue', 'entry_id', ref.entry_id, r.rows[0].body, why);
        return null;
      }
      const e = r.rows[0].body as Entry;
      await c.query('DELETE FROM conductor.queue WHERE entry_id = $1', [ref.entry_id]);
      await c.query('INSERT INTO conductor.running (entry_id, owner, task_id, body) VALUES ($1, $2, $3, $4)', [e.entry_id, owner, e.task_id, JSON.stringify(e)]);
      return e;
    });
  }

  async takeQueued(entryId: string): Promise<Entry | null> {
    const rows = await this.q('DELETE FROM conductor.queue WHERE entry_id = $1 RETURNING body', [entryId]);
    return rows[0] ? this.taken<Entry>('queue', entryId, rows[0].body, entryProblem) : null;
  }

  /** A row just deleted by a take: its entry, or (unusable) into the quarantine and null. */
  private async taken<T>(table: string, key: string, body: any, problem: (v: unknown) => string | null): Promise<T | null> {
    const why = this.entryWhy(body, key, problem);
    if (!why) return body as T;
    await this.keepAside(null, `${table}/${key}`, body, why);
    return null;
  }

  // ---------- running ----------

  async releaseRunning(entryId: string, owner: string): Promise<void> {
    await this.q('DELETE FROM conductor.running WHERE entry_id = $1 AND owner = $2', [entryId, owner]);
  }

  async runningOwners(): Promise<string[]> {
    return (await this.q<{ owner: string }>('SELECT owner FROM conductor.running')).map((r) => r.owner);
  }

  async listRunning(): Promise<RunningRecord[]> {
    const out: RunningRecord[] = [];
    for (const r of await this.q('SELECT entry_id, owner, body FROM conductor.running ORDER BY entry_id')) {
      const entry = await this.checkedEntry<Entry>('running', r.entry_id, r.body);
      if (entry) out.push({ entry, owner: r.owner, file: `running/${r.entry_id}` });
    }
    return out;
  }

  async takeOver(rec: RunningRecord, newOwner: string): Promise<boolean> {
    const rows = await this.q('UPDATE conductor.running SET owner = $3 WHERE entry_id = $1 AND owner = $2 RETURNING 1', [rec.entry.entry_id, rec.owner, newOwner]);
    return rows.length > 0;
  }

  async entryIsLive(entryId: string, exceptOwner?: string): Promise<boolean> {
    const rows = await this.q(
      `SELECT EXISTS (SELECT 1 FROM conductor.queue WHERE entry_id = $1)
           OR EXISTS (SELECT 1 FROM conductor.running WHERE entry_id = $1 AND owner IS DISTINCT FROM $2)
           OR EXISTS (SELECT 1 FROM conductor.dlq WHERE entry_id = $1) AS live`,
      [entryId, exceptOwner ?? null],
    );
    return rows[0].live;
  }

  async hasLiveEntryFor(taskId: string): Promise<boolean> {
    const rows = await this.q(
      `SELECT EXISTS (SELECT 1 FROM conductor.queue WHERE task_id = $1)
           OR EXISTS (SELECT 1 FROM conductor.running WHERE task_id = $1) AS live`,
      [taskId],
    );
    return rows[0].live;
  }

  // ---------- run groups ----------

  async settleGroup(e: Entry, status: string, retrying: boolean): Promise<void> {
    if (!e.group || retrying) return;
    await this.q('INSERT INTO conductor.outcomes (entry_id, status) VALUES ($1, $2) ON CONFLICT (entry_id) DO UPDATE SET status = $2', [e.entry_id, status]);
  }

  async groupResult(entryId: string): Promise<string | null> {
    return (await this.q('SELECT status FROM conductor.outcomes WHERE entry_id = $1', [entryId]))[0]?.status ?? null;
  }

  // ---------- cancel requests ----------

  async requestCancel(entryId: string): Promise<void> {
    await this.q('INSERT INTO conductor.cancels (entry_id) VALUES ($1) ON CONFLICT DO NOTHING', [entryId]);
  }

  async cancelRequests(): Promise<string[]> {
    return (await this.q<{ entry_id: string }>('SELECT entry_id FROM conductor.cancels')).map((r) => r.entry_id);
  }

  async clearCancel(entryId: string): Promise<void> {
    await this.q('DELETE FROM conductor.cancels WHERE entry_id = $1', [entryId]);
  }

  // ---------- history and output ----------

  /** The output captured on this host goes into the row, so `logs` works from every host. */
  async recordExecution(x: Execution): Promise<void> {
    const output = x.log ? readBytes(x.log) : null;
    const body = JSON.stringify(x);
    const rows = await this.q(
      `INSERT INTO conductor.executions (execution_id, task_id, started_at, finished_at, body, output)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (execution_id) DO NOTHING RETURNING 1`,
      [x.execution_id, x.task_id, x.started_at, x.finished_at, body, output],
    );
    if (rows.length) return;
    // The same record again (an import, a retried write) is nothing; a different one means a run happened twice: surface it.
    const same = await this.q('SELECT 1 FROM conductor.executions WHERE execution_id = $1 AND body = $2::jsonb', [x.execution_id, body]);
    if (same.length) return;
    const reason = `a second, different record of execution ${x.execution_id} (its entry ran twice)`;
    await this.q('INSERT INTO conductor.quarantine (source, reason, body) VALUES ($1, $2, $3)', [`executions/${x.execution_id}`, reason, body]);
    this.problems.push({ file: `executions/${x.execution_id}`, reason, moved_to: 'quarantine' });
  }

  async getExecution(executionId: string): Promise<Execution | null> {
    const rows = await this.q('SELECT body FROM conductor.executions WHERE execution_id = $1', [checkId(executionId, 'execution id')]);
    return rows[0]?.body ?? null;
  }

  async executionExists(executionId: string): Promise<boolean> {
    return (await this.q('SELECT 1 FROM conductor.executions WHERE execution_id = $1', [executionId])).length > 0;
  }

  async listExecutions(filter: { taskId?: string; limit?: number } = {}): Promise<Execution[]> {
    const rows = await this.q(
      `SELECT body FROM conductor.executions WHERE ($1::text IS NULL OR task_id = $1)
       ORDER BY started_at DESC, finished_at DESC, execution_id COLLATE "C" DESC LIMIT $2`,
      [filter.taskId ?? null, filter.limit ?? null],
    );
    return rows.map((r) => r.body as Execution);
  }

  logPath(executionId: string): string {
    return path.join(this.home, 'logs', `${executionId}.log`);
  }

  async readLog(x: Execution): Promise<Buffer> {
    const rows = await this.q('SELECT output FROM conductor.executions WHERE execution_id = $1', [x.execution_id]);
    // A record written before its output was copied in (imported, or a crash in between): the local file.
    return rows[0]?.output ?? ((x.log && readBytes(x.log)) || Buffer.alloc(0));
  }

  // ---------- dead letters ----------

  async toDlq(d: DeadLetter): Promise<void> {
    await this.q('INSERT INTO conductor.dlq (entry_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING', [d.entry_id, JSON.stringify(d)]);
  }

  async listDlq(): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (const r of await this.q('SELECT entry_id, body FROM conductor.dlq ORDER BY entry_id COLLATE "C"')) {
      const d = await this.checkedEntry<DeadLetter>('dlq', r.entry_id, r.body, deadLetterProblem);
      if (d) out.push(d);
    }
    return out;
  }

  async takeDlq(entryId: string): Promise<DeadLetter | null> {
    const rows = await this.q('DELETE FROM conductor.dlq WHERE entry_id = $1 RETURNING body', [checkId(entryId, 'entry id')]);
    return rows[0] ? this.taken<DeadLetter>('dlq', entryId, rows[0].body, deadLetterProblem) : null;
  }

  // ---------- breakers ----------

  async readBreaker(name: string): Promise<BreakerRecord | null> {
    const rows = await this.q('SELECT body FROM conductor.breakers WHERE name = $1', [checkId(name, 'circuit breaker name')]);
    return rows[0]?.body ?? null;
  }

  async listBreakers(): Promise<BreakerRecord[]> {
    return (await this.q('SELECT body FROM conductor.breakers ORDER BY name COLLATE "C"')).map((r) => r.body as BreakerRecord);
  }

  async updateBreaker(name: string, change: (b: BreakerRecord) => BreakerRecord | undefined): Promise<BreakerRecord> {
    checkId(name, 'circuit breaker name');
    return this.tx(async (c) => {
      await c.query('INSERT INTO conductor.breakers (name, body) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, JSON.stringify(newBreaker(name, FORMAT))]);
      const cur = (await c.query('SELECT body FROM conductor.breakers WHERE name = $1 FOR UPDATE', [name])).rows[0].body as BreakerRecord;
      const next = change(cur);
      if (next === undefined) return cur;
      await c.query('UPDATE conductor.breakers SET body = $2 WHERE name = $1', [name, JSON.stringify(next)]);
      return next;
    });
  }

  // ---------- small state ----------

  async isPaused(): Promise<boolean> {
    return (await this.readState('paused')) !== null;
  }

  async setPaused(paused: boolean, at: string): Promise<void> {
    if (paused) await this.writeState('paused', { at });
    else await this.q(`DELETE FROM conductor.state WHERE name = 'paused'`);
  }

  async readState<T>(name: string): Promise<T | null> {
    return (await this.q('SELECT body FROM conductor.state WHERE name = $1', [name]))[0]?.body ?? null;
  }

  async writeState(name: string, value: unknown): Promise<void> {
    await this.q('INSERT INTO conductor.state (name, body) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET body = $2', [name, JSON.stringify(value)]);
  }

  async appendEvent(rec: EventRecord): Promise<void> {
    await this.q('INSERT INTO conductor.events (body) VALUES ($1)', [JSON.stringify(rec)]);
  }

  async listEvents(limit: number): Promise<EventRecord[]> {
    return (await this.q('SELECT body FROM conductor.events ORDER BY id DESC LIMIT $1', [limit])).map((r) => r.body as EventRecord);
  }

  pidFile(): string {
    return path.join(this.home, 'state', 'daemon.pid');
  }
}

class IdTaken extends InputError {}

async function insertEntry(c: PoolClient, e: Entry): Promise<boolean> {
  const r = await c.query(
    'INSERT INTO conductor.queue (entry_id, name, task_id, body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    [e.entry_id, queueName(e), e.task_id, JSON.stringify(e)],
  );
  return r.rowCount === 1;
}

/** Was this entry ever queued (it is anywhere, or has a record or an outcome)? */
async function everQueued(c: PoolClient, entryId: string): Promise<boolean> {
  const r = await c.query(
    `SELECT EXISTS (SELECT 1 FROM conductor.queue WHERE entry_id = $1)
         OR EXISTS (SELECT 1 FROM conductor.running WHERE entry_id = $1)
         OR EXISTS (SELECT 1 FROM conductor.dlq WHERE entry_id = $1)
         OR EXISTS (SELECT 1 FROM conductor.outcomes WHERE entry_id = $1)
         OR EXISTS (SELECT 1 FROM conductor.executions WHERE execution_id = $1 || '.1') AS seen`,
    [entryId],
  );
  return r.rows[0].seen;
}

async function inTransaction<T>(c: PoolClient, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const out = await fn();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
