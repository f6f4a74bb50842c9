import * as path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { InputError, RunError } from '../../errors.js';
import { entryProblem, storedEntryProblem, type Checks } from '../check.js';
import { resolveHome } from '../home-check.js';
import { reportProblem } from '../policy.js';
import type { Problem } from '../roles.js';

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** What the PostgreSQL store keeps in the local home. */
export const LOCAL_DIRS = ['logs', 'runs', 'state'];

type Check = (v: unknown) => string | null;

/**
 * What every role of the PostgreSQL store shares: the pool, errors said as
 * conductor says them, transactions and advisory locks, and the quarantine
 * of rows that cannot be used.
 */
export class PgSession {
  readonly home: string;
  /** The home as the user named it, for messages when it is a link. */
  readonly named: string;
  readonly problems: Problem[] = [];
  readonly location: string;
  readonly pool: Pool;
  /** The URL with its password: for connections of our own (listen.ts), never for messages (`location`). */
  readonly url: string;

  /**
   * `leaseMs`: how long a dispatcher on another host may go without a heartbeat before its runs
   * are taken over (CONDUCTOR_LEASE_MS, read by the CLI).
   */
  constructor(
    home: string,
    url: string,
    readonly checks: Checks,
    readonly leaseMs = 30_000,
  ) {
    this.named = path.resolve(home);
    this.home = resolveHome(home);
    this.location = redact(url);
    this.url = url;
    const pg = require('pg') as typeof import('pg');
    // Timestamps travel as text: records keep the ISO strings they were written with.
    this.pool = new pg.Pool({ connectionString: url, max: 6, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
    this.pool.on('error', () => undefined); // an idle client dropped by the server is replaced on next use
  }

  /**
   * One statement. `name`: for the statements every run sends (claim, record, listing), so that
   * each connection parses and plans them once (a prepared statement) rather than every time.
   */
  async q<R = any>(text: string, values: unknown[] = [], name?: string): Promise<R[]> {
    try {
      return (await this.pool.query(name ? { name, text, values } : { text, values })).rows as R[];
    } catch (err) {
      throw this.wrap(err);
    }
  }

  wrap(err: unknown): Error {
    const e = err as { code?: string; message?: string };
    if (e.code === '42P01' || e.code === '3F000')
      return new RunError(`database ${this.location} has no conductor schema: run 'conductor migrate'`);
    // Our own errors (a change callback refusing bad input, say) keep their exit code.
    if (err instanceof RunError || err instanceof InputError) return err;
    return new RunError(`database ${this.location}: ${e.message ?? String(err)}`);
  }

  /** One pooled connection for `fn`, released whatever happens. */
  async session<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
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

  tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.session((c) => inTransaction(c, () => fn(c)));
  }

  /** Holds a session-level advisory lock (every host sees it) while `fn` runs. */
  locked<T>(key: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.session(async (c) => {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
      try {
        return await fn(c);
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
      }
    });
  }

  // ---------- the quarantine ----------

  /** Sets an unusable row aside (written by hand or by a newer version), so that the rest works. */
  async quarantine(table: string, key: string, keyValue: string, body: unknown, reason: string): Promise<void> {
    await this.tx((c) => this.quarantineIn(c, table, key, keyValue, body, reason));
  }

  /** The same inside a transaction the caller holds. */
  async quarantineIn(c: PoolClient, table: string, key: string, keyValue: string, body: unknown, reason: string): Promise<void> {
    const del = await c.query(`DELETE FROM conductor.${table} WHERE ${key} = $1`, [keyValue]);
    if (del.rowCount) await this.keepAside(c, `${table}/${keyValue}`, body, reason);
  }

  /** Records a row already taken out of its table (take, claim) in the quarantine, and reports it. */
  async keepAside(c: PoolClient | null, source: string, body: unknown, reason: string): Promise<void> {
    const sql = 'INSERT INTO conductor.quarantine (source, reason, body) VALUES ($1, $2, $3) RETURNING id';
    const rows = c
      ? (await c.query(sql, [source, reason, JSON.stringify(body)])).rows
      : await this.q(sql, [source, reason, JSON.stringify(body)]);
    reportProblem(this.problems, source, reason, `quarantine/${rows[0].id}`);
  }

  /** Why a queue, running or dead-letter body cannot be used, or null. */
  entryWhy(body: unknown, key: string, problem: Check = entryProblem): string | null {
    return storedEntryProblem(body, (id) => id === key, 'row key', problem);
  }

  /** The row's entry if it is usable; otherwise it is quarantined and null returned. */
  async checkedEntry<T>(table: string, key: string, body: unknown, problem?: Check): Promise<T | null> {
    const why = this.entryWhy(body, key, problem);
    if (!why) return body as T;
    await this.quarantine(table, 'entry_id', key, body, why);
    return null;
  }

  /** A row just deleted by a take: its entry, or (unusable) into the quarantine and null. */
  async taken<T>(table: string, key: string, body: unknown, problem: Check): Promise<T | null> {
    const why = this.entryWhy(body, key, problem);
    if (!why) return body as T;
    await this.keepAside(null, `${table}/${key}`, body, why);
    return null;
  }
}

export async function inTransaction<T>(c: PoolClient, fn: () => Promise<T>): Promise<T> {
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
