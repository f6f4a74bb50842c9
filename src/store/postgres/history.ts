import type { PoolClient } from 'pg';
import { checkId } from '../../ids.js';
import type { Execution } from '../../model.js';
import { readBytes } from '../atomic.js';
import { logPathIn, reportProblem, runFileIn } from '../policy.js';
import { runtimeDirFor } from '../runtime-dir.js';
import type { HistoryStore } from '../roles.js';
import type { PgSession } from './session.js';
import {
  addRuns,
  asPrunedTally,
  DURATION_BOUNDS_MS,
  emptyTally,
  mergeTallies,
  PRUNED_TALLY_STATE,
  type HistoryTally,
} from '../tally.js';
import RECORD_EXECUTION from './sql/record_execution.sql';
import TALLY_RUNS from './sql/tally_runs.sql';
import TALLY_BUCKETS from './sql/tally_buckets.sql';

/**
 * Inserts an execution's row, and releases its run (`release`: the owner) in the same statement.
 * The output captured on this host goes into the row, so `logs` works from every host.
 */
export async function recordExecution(s: PgSession, x: Execution, release: string | null, c?: PoolClient): Promise<void> {
  // In the caller's transaction when it gives one (settleRun), else a statement of its own.
  const q = c
    ? async (text: string, values: unknown[], name?: string) => (await c.query({ name, text, values })).rows
    : (text: string, values: unknown[], name?: string) => s.q(text, values, name);
  const output = x.log ? readBytes(x.log) : null;
  const body = JSON.stringify(x);
  const values = [x.execution_id, x.task_id, x.started_at, x.finished_at, body, output];
  if ((await q(RECORD_EXECUTION, [...values, release && x.entry_id, release], 'conductor_record_execution')).length) return;
  // The same record again (an import, a retried write) is nothing; a different one means a run happened twice: surface it.
  const same = await q('SELECT 1 FROM conductor.executions WHERE execution_id = $1 AND body = $2::jsonb', [x.execution_id, body]);
  if (same.length) return;
  const reason = `a second, different record of execution ${x.execution_id} (its entry ran twice)`;
  await q('INSERT INTO conductor.quarantine (source, reason, body) VALUES ($1, $2, $3)', [
    `executions/${x.execution_id}`,
    reason,
    body,
  ]);
  reportProblem(s.problems, `executions/${x.execution_id}`, reason, 'quarantine');
}

/** conductor.executions: one row per execution, with the output captured on its host as bytes. */
export function pgHistory(s: PgSession): HistoryStore {
  const runtime = () => runtimeDirFor(s.home);
  return {
    recordExecution: (x: Execution) => recordExecution(s, x, null),

    async getExecution(executionId: string): Promise<Execution | null> {
      const rows = await s.q('SELECT body FROM conductor.executions WHERE execution_id = $1', [
        checkId(executionId, 'execution id'),
      ]);
      return rows[0]?.body ?? null;
    },

    async executionExists(executionId: string): Promise<boolean> {
      return (await s.q('SELECT 1 FROM conductor.executions WHERE execution_id = $1', [executionId])).length > 0;
    },

    async listExecutions(filter: { taskId?: string; limit?: number } = {}): Promise<Execution[]> {
      const rows = await s.q(
        `SELECT body FROM conductor.executions WHERE ($1::text IS NULL OR task_id = $1)
         ORDER BY started_at DESC, finished_at DESC, execution_id COLLATE "C" DESC LIMIT $2`,
        [filter.taskId ?? null, filter.limit ?? null],
      );
      return rows.map((r) => r.body as Execution);
    },

    /** Records and the kept tally of pruned ones from one snapshot: a prune commits both or neither. */
    historyTally(): Promise<HistoryTally> {
      return s.session(async (c) => {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        try {
          const t = emptyTally();
          for (const r of (await c.query(TALLY_RUNS)).rows)
            addRuns(t, r.task_id, r.status, Number(r.count), Number(r.duration_ms));
          const bounds = DURATION_BOUNDS_MS.map((b) => b + 0.5);
          for (const r of (await c.query(TALLY_BUCKETS, [bounds])).rows) t.buckets[Number(r.bucket)] += Number(r.count);
          const kept = (await c.query('SELECT body FROM conductor.state WHERE name = $1', [PRUNED_TALLY_STATE])).rows[0]?.body;
          return mergeTallies(t, asPrunedTally(kept ?? null));
        } finally {
          await c.query('COMMIT');
        }
      });
    },

    logPath(executionId: string): string {
      return logPathIn(s.home, executionId);
    },

    runFilePath(executionId: string): string {
      return runFileIn(runtime(), executionId);
    },

    runFilesDir: () => runtime(),

    async readLog(x: Execution): Promise<Buffer> {
      const rows = await s.q('SELECT output FROM conductor.executions WHERE execution_id = $1', [x.execution_id]);
      // A record written before its output was copied in (imported, or a crash in between): the local file.
      return rows[0]?.output ?? ((x.log && readBytes(x.log)) || Buffer.alloc(0));
    },
  };
}
