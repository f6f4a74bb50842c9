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
import ADD_SLOTS from './sql/add_slots.sql';
import CLAIM_ENTRIES from './sql/claim_entries.sql';
import INSERT_ENTRY from './sql/insert_entry.sql';
import LIST_QUEUED from './sql/list_queued.sql';

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

/** What a claim took: the entries (usable ones, in rank order), and how many free slots it found. */
interface Claimed {
  free: number;
  claimed: Entry[];
}

/**
 * Claims the first of `ids` (in rank order) that are still queued, as many as free slots allow,
 * in one statement (claim_entries.sql). A claimed body that cannot be used is set aside (which
 * frees its slot), reported as the queue row it was.
 */
async function claimEntries(s: PgSession, ids: string[], owner: string, maxRunning: number, idle: boolean): Promise<Claimed> {
  const [row] = await s.q<{ free: number; claimed: { entry_id: string; body: unknown }[] }>(
    CLAIM_ENTRIES,
    [ids, owner, maxRunning, idle],
    'conductor_claim_entries',
  );
  const claimed: Entry[] = [];
  for (const c of row.claimed) {
    const why = s.entryWhy(c.body, c.entry_id);
    if (!why) claimed.push(c.body as Entry);
    else await setAside(s, c.entry_id, c.body, why);
  }
  return { free: row.free, claimed };
}

async function setAside(s: PgSession, entryId: string, body: unknown, why: string): Promise<void> {
  await s.tx(async (c) => {
    await c.query('DELETE FROM conductor.running WHERE entry_id = $1', [entryId]);
    await s.keepAside(c, `queue/${entryId}`, body, why);
  });
}

/**
 * conductor.queue: one row per entry, its ranking fields as columns. A claim takes a free run
 * slot and the entry's row, skipping rows other claims hold, and moves it to conductor.running,
 * in one statement (claim_entries.sql).
 */
export function pgQueue(s: PgSession): QueueStore {
  // Slot rows 1..N this process has made sure exist (add_slots.sql), once per process and limit.
  let slotsMade = 0;
  const claimAll = async (
    refs: QueuedRef[],
    owner: string,
    maxRunning: number,
    idle = false,
  ): Promise<{ entries: Entry[]; full: boolean }> => {
    if (maxRunning > slotsMade) {
      await s.q(ADD_SLOTS, [maxRunning]);
      slotsMade = maxRunning;
    }
    const { free, claimed } = await claimEntries(
      s,
      refs.map((r) => r.entry_id),
      owner,
      maxRunning,
      idle,
    );
    return { entries: claimed, full: free < refs.length };
  };

  return {
    claimsEnforceLimit: true,
    claimAll,

    async claim(ref: QueuedRef, owner: string, maxRunning: number): Promise<Entry | null | 'full'> {
      const { entries, full } = await claimAll([ref], owner, maxRunning);
      return entries[0] ?? (full ? 'full' : null);
    },

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
      return (await s.q<QueueRow>(LIST_QUEUED, [], 'conductor_list_queued')).map(refOf);
    },

    async readQueued(ref: QueuedRef): Promise<Entry | null> {
      const rows = await s.q('SELECT body FROM conductor.queue WHERE entry_id = $1', [ref.entry_id]);
      return rows[0] ? s.checkedEntry<Entry>('queue', ref.entry_id, rows[0].body) : null;
    },

    async takeQueued(entryId: string): Promise<Entry | null> {
      const rows = await s.q('DELETE FROM conductor.queue WHERE entry_id = $1 RETURNING body', [entryId]);
      return rows[0] ? s.taken<Entry>('queue', entryId, rows[0].body, entryProblem) : null;
    },

    watchQueue: (onChange, note) => listenQueue(s.url, onChange, note),
  };
}
