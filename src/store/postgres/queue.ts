import type { PoolClient } from 'pg';
import { RunError } from '../../errors.js';
import { msOfTimeOrderedId } from '../../ids.js';
import type { Entry, EntrySource, QueuedRef } from '../../model.js';
import { entryProblem } from '../check.js';
import type { QueueStore } from '../roles.js';
import { listenQueue } from './listen.js';
import type { PgSession } from './session.js';
import EVER_QUEUED from './sql/ever_queued.sql';
import INSERT_ENTRIES from './sql/insert_entries.sql';
import INSERT_ENTRY from './sql/insert_entry.sql';
import LIST_QUEUED from './sql/list_queued.sql';

const CLAIM_LOCK = 'conductor:claim';

/** The row's columns beside the body: what ranking and listing need (see 003_queue_columns.sql). */
function entryValues(e: Entry): unknown[] {
  const notBefore = e.not_before ? Date.parse(e.not_before) : null;
  return [
    e.entry_id,
    e.task_id,
    JSON.stringify(e),
    e.priority,
    e.attempt,
    notBefore || null,
    msOfTimeOrderedId(e.entry_id),
    e.source,
    e.group !== null && e.group !== undefined,
  ];
}

export async function insertEntry(c: PoolClient, e: Entry): Promise<boolean> {
  return (await c.query(INSERT_ENTRY, entryValues(e))).rowCount === 1;
}

/** Entries per statement: one round trip each, the statement's arrays a few megabytes at most. */
const BATCH = 2000;

/** The entries' columns as arrays, one per parameter of insert_entries.sql. */
function columnsOf(entries: Entry[]): unknown[][] {
  const cols: unknown[][] = entryValues(entries[0]).map(() => []);
  for (const e of entries) entryValues(e).forEach((v, i) => cols[i].push(v));
  return cols;
}

/** Queues entries, one statement per BATCH, in the caller's transaction; answers the ids queued (a taken id is not). */
export async function insertEntries(c: PoolClient, entries: Entry[]): Promise<Set<string>> {
  const queued = new Set<string>();
  for (let i = 0; i < entries.length; i += BATCH) {
    const r = await c.query(INSERT_ENTRIES, columnsOf(entries.slice(i, i + BATCH)));
    for (const id of (r.rows[0]?.queued ?? []) as string[]) queued.add(id);
  }
  return queued;
}

/** Was this entry ever queued (it is anywhere, or has a record or an outcome)? */
export async function everQueued(c: PoolClient, entryId: string): Promise<boolean> {
  return (await c.query(EVER_QUEUED, [entryId])).rows[0].seen;
}

interface QueueRow {
  entry_id: string;
  task_id: string;
  priority: number;
  attempt: number;
  source: EntrySource;
  from_schedule: boolean;
  grouped: boolean;
  enqueued_ms: string;
  not_before_ms: string | null;
}

/** A row's columns as the reference the dispatcher ranks; the entry id is its handle. */
function refOf(r: QueueRow): QueuedRef {
  return {
    entry_id: r.entry_id,
    task_id: r.task_id,
    priority: r.priority,
    enqueued_ms: Number(r.enqueued_ms),
    attempt: r.attempt,
    not_before_ms: r.not_before_ms === null ? null : Number(r.not_before_ms),
    source: r.source,
    from_schedule: r.from_schedule,
    grouped: r.grouped,
    name: r.entry_id,
  };
}

/**
 * conductor.queue: one row per entry, its ranking fields as columns. A
 * claim is a transaction that locks the row (FOR UPDATE SKIP LOCKED), counts
 * what runs on every host and moves the row to conductor.running.
 */
export function pgQueue(s: PgSession): QueueStore {
  return {
    async enqueue(entry: Entry): Promise<boolean> {
      return (await s.q(INSERT_ENTRY, entryValues(entry))).length > 0;
    },

    async enqueueAll(entries: Entry[]): Promise<void> {
      if (!entries.length) return;
      await s.tx(async (c) => {
        const queued = await insertEntries(c, entries);
        // Each id is crossed off once: one not queued, or given twice in the batch, fails the whole batch.
        const taken = entries.find((e) => !queued.delete(e.entry_id));
        if (taken) throw new RunError(`entry id '${taken.entry_id}' already exists`);
      });
    },

    /** Compact references from the columns: ranking never reads bodies. */
    async listQueued(): Promise<QueuedRef[]> {
      return (await s.q<QueueRow>(LIST_QUEUED)).map(refOf);
    },

    async readQueued(ref: QueuedRef): Promise<Entry | null> {
      const rows = await s.q('SELECT body FROM conductor.queue WHERE entry_id = $1', [ref.entry_id]);
      return rows[0] ? s.checkedEntry<Entry>('queue', ref.entry_id, rows[0].body) : null;
    },

    async claim(ref: QueuedRef, owner: string, maxRunning: number): Promise<Entry | null | 'full'> {
      return s.tx(async (c) => {
        // Claims queue on one lock so the count below cannot be raced: the limit is global across hosts.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [CLAIM_LOCK]);
        const n = await c.query('SELECT count(*)::int AS n FROM conductor.running');
        if (n.rows[0].n >= maxRunning) return 'full' as const;
        const r = await c.query('SELECT body FROM conductor.queue WHERE entry_id = $1 FOR UPDATE SKIP LOCKED', [ref.entry_id]);
        if (!r.rows[0]) return null;
        const why = s.entryWhy(r.rows[0].body, ref.entry_id);
        if (why) {
          await s.quarantineIn(c, 'queue', 'entry_id', ref.entry_id, r.rows[0].body, why);
          return null;
        }
        const e = r.rows[0].body as Entry;
        await c.query('DELETE FROM conductor.queue WHERE entry_id = $1', [ref.entry_id]);
        await c.query('INSERT INTO conductor.running (entry_id, owner, task_id, body) VALUES ($1, $2, $3, $4)', [
          e.entry_id,
          owner,
          e.task_id,
          JSON.stringify(e),
        ]);
        return e;
      });
    },

    async takeQueued(entryId: string): Promise<Entry | null> {
      const rows = await s.q('DELETE FROM conductor.queue WHERE entry_id = $1 RETURNING body', [entryId]);
      return rows[0] ? s.taken<Entry>('queue', entryId, rows[0].body, entryProblem) : null;
    },

    watchQueue: (onChange, note) => listenQueue(s.url, onChange, note),
  };
}
