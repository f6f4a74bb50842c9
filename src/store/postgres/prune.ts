import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PoolClient } from 'pg';
import { listNames, unlinkFile } from '../atomic.js';
import { logPathIn } from '../policy.js';
import type { PruneCount, PruneRequest, RetentionStore } from '../roles.js';
import type { PgSession } from './session.js';
import PRUNE_EXECUTIONS from './sql/prune_executions.sql';
import {
  asPrunedTally,
  emptyPrunedTally,
  mergeTallies,
  PRUNED_TALLY_STATE,
  tallyOf,
  type Counted,
  type PrunedTally,
} from '../tally.js';

interface Gone {
  execution_id: string;
  output_bytes: number;
  record_bytes: number;
  task_id: string;
  status: string;
  duration_ms: number;
}

/**
 * Retention on PostgreSQL: old executions (with their output) and events go
 * in one transaction; then this host's local copies of captured output.
 */
export function pgRetention(s: PgSession): RetentionStore {
  return {
    // Rows are pruned wherever they were written: nothing to hand over.
    rotateHistory: () => undefined,
    async prune(o: PruneRequest): Promise<PruneCount> {
      const cutoff = new Date(o.cutoffMs).toISOString();
      const { gone, events } = await s.tx(async (c) => {
        const kept = await lockPrunedTally(c);
        const rows = (await c.query<Gone>(PRUNE_EXECUTIONS, [cutoff, o.keep])).rows;
        await countPruned(c, kept, rows);
        return { gone: rows, events: await pruneEvents(c, o.cutoffMs) };
      });
      const local = await removeLocalCopies(s, gone, o.cutoffMs);
      const sum = (f: (g: Gone) => number) => gone.reduce((n, g) => n + Number(f(g)), 0);
      return {
        executions: gone.length,
        logs: gone.filter((g) => Number(g.output_bytes) > 0).length,
        events: events.rows,
        bytes: sum((g) => g.output_bytes) + sum((g) => g.record_bytes) + events.bytes + local,
      };
    },
  };
}

/** The kept tally of what prunes removed, its row locked for this transaction (concurrent prunes queue here). */
async function lockPrunedTally(c: PoolClient): Promise<PrunedTally> {
  await c.query('INSERT INTO conductor.state (name, body) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
    PRUNED_TALLY_STATE,
    JSON.stringify(emptyPrunedTally()),
  ]);
  const rows = await c.query('SELECT body FROM conductor.state WHERE name = $1 FOR UPDATE', [PRUNED_TALLY_STATE]);
  return asPrunedTally(rows.rows[0]?.body);
}

/** What went, added to the kept tally in the same transaction as the delete: counters stay exact. */
async function countPruned(c: PoolClient, kept: PrunedTally, gone: Gone[]): Promise<void> {
  if (!gone.length) return;
  const t = tallyOf(
    gone.map((g) => ({ task_id: g.task_id, status: g.status as Counted['status'], duration_ms: Number(g.duration_ms) })),
  );
  const total = { format: 1, ...mergeTallies(kept, t), pending: [] };
  await c.query('UPDATE conductor.state SET body = $2 WHERE name = $1', [PRUNED_TALLY_STATE, JSON.stringify(total)]);
}

/** Events are dated by their body; the times are compared here, so a row with a malformed one is kept, never an error. */
async function pruneEvents(c: PoolClient, cutoffMs: number): Promise<{ rows: number; bytes: number }> {
  const all = (await c.query<{ id: string; at: string | null }>(`SELECT id, body->>'at' AS at FROM conductor.events`)).rows;
  const old = all.filter((r) => Date.parse(r.at ?? '') < cutoffMs).map((r) => r.id);
  if (!old.length) return { rows: 0, bytes: 0 };
  const gone = await c.query<{ bytes: number }>(
    'DELETE FROM conductor.events WHERE id = ANY($1::bigint[]) RETURNING octet_length(body::text) AS bytes',
    [old],
  );
  return { rows: gone.rows.length, bytes: gone.rows.reduce((n, r) => n + Number(r.bytes), 0) };
}

/**
 * Output is captured in the local home and copied into the row when the run
 * is recorded: the copies of pruned rows go, and so do older copies on this
 * host whose row is gone (pruned from another host) unless their entry still
 * runs. Returns the bytes freed.
 */
async function removeLocalCopies(s: PgSession, gone: Gone[], cutoffMs: number): Promise<number> {
  let bytes = 0;
  for (const g of gone) bytes += unlinkFile(logPathIn(s.home, g.execution_id)) ?? 0;
  const dir = path.join(s.home, 'logs');
  const old = listNames(dir).filter((n) => n.endsWith('.log') && olderThan(path.join(dir, n), cutoffMs));
  if (!old.length) return bytes;
  const ids = old.map((n) => n.slice(0, -'.log'.length));
  const recorded = new Set(
    (await s.q<{ id: string }>('SELECT execution_id AS id FROM conductor.executions WHERE execution_id = ANY($1)', [ids])).map(
      (r) => r.id,
    ),
  );
  const running = new Set((await s.q<{ id: string }>('SELECT entry_id AS id FROM conductor.running')).map((r) => r.id));
  for (const id of ids) {
    if (recorded.has(id) || running.has(id.replace(/\.\d+$/, ''))) continue;
    bytes += unlinkFile(logPathIn(s.home, id)) ?? 0;
  }
  return bytes;
}

function olderThan(file: string, cutoffMs: number): boolean {
  try {
    return fs.lstatSync(file).mtimeMs < cutoffMs;
  } catch {
    return false;
  }
}
