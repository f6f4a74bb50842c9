import type { Entry } from '../../model.js';
import { groupOutcome } from '../policy.js';
import type { RunningRecord, RunningStore, Settlement } from '../roles.js';
import { changeBreakerIn } from './breakers.js';
import { INSERT_DEAD_LETTER } from './dlq.js';
import { recordExecution } from './history.js';
import { insertEntries } from './queue.js';
import type { PgSession } from './session.js';
import { INSERT_EVENT } from './state.js';

const RELEASE = 'DELETE FROM conductor.running WHERE entry_id = $1 AND owner = $2';
const UPSERT_OUTCOME =
  'INSERT INTO conductor.outcomes (entry_id, status) VALUES ($1, $2) ON CONFLICT (entry_id) DO UPDATE SET status = $2';

/** conductor.running (claimed entries and their owners), conductor.outcomes (run groups), conductor.cancels. */
export function pgRunning(s: PgSession): RunningStore {
  return {
    async releaseRunning(entryId: string, owner: string): Promise<void> {
      await s.q(RELEASE, [entryId, owner]);
    },

    /**
     * One transaction: the record, its retry or dead letter, group outcome, breaker change and
     * lifecycle listeners, and the release; nothing more than the record is one statement.
     */
    async settleRun(p: Settlement): Promise<void> {
      const { execution: x, owner } = p;
      if (!p.queue.length && !p.deadLetter && !p.outcome && !p.breaker && !p.event) return recordExecution(s, x, owner);
      await s.tx(async (c) => {
        await recordExecution(s, x, null, c);
        if (p.queue.length) await insertEntries(c, p.queue);
        if (p.deadLetter) await c.query(INSERT_DEAD_LETTER, [p.deadLetter.entry_id, JSON.stringify(p.deadLetter)]);
        if (p.outcome) await c.query(UPSERT_OUTCOME, [p.outcome.entry_id, p.outcome.status]);
        if (p.breaker) await changeBreakerIn(c, p.breaker.name, p.breaker.change);
        if (p.event) await c.query(INSERT_EVENT, [JSON.stringify(p.event)]);
        await c.query(RELEASE, [x.entry_id, owner]);
      });
    },

    async runningOwners(): Promise<string[]> {
      return (await s.q<{ owner: string }>('SELECT owner FROM conductor.running', [], 'conductor_running_owners')).map(
        (r) => r.owner,
      );
    },

    async listRunning(): Promise<RunningRecord[]> {
      const out: RunningRecord[] = [];
      for (const r of await s.q('SELECT entry_id, owner, body FROM conductor.running ORDER BY entry_id')) {
        const entry = await s.checkedEntry<Entry>('running', r.entry_id, r.body);
        if (entry) out.push({ entry, owner: r.owner, file: `running/${r.entry_id}` });
      }
      return out;
    },

    async takeOver(rec: RunningRecord, newOwner: string): Promise<boolean> {
      const rows = await s.q('UPDATE conductor.running SET owner = $3 WHERE entry_id = $1 AND owner = $2 RETURNING 1', [
        rec.entry.entry_id,
        rec.owner,
        newOwner,
      ]);
      return rows.length > 0;
    },

    async entryIsLive(entryId: string, exceptOwner?: string): Promise<boolean> {
      const rows = await s.q(
        `SELECT EXISTS (SELECT 1 FROM conductor.queue WHERE entry_id = $1)
             OR EXISTS (SELECT 1 FROM conductor.running WHERE entry_id = $1 AND owner IS DISTINCT FROM $2)
             OR EXISTS (SELECT 1 FROM conductor.dlq WHERE entry_id = $1) AS live`,
        [entryId, exceptOwner ?? null],
      );
      return rows[0].live;
    },

    async hasLiveEntryFor(taskId: string): Promise<boolean> {
      const rows = await s.q(
        `SELECT EXISTS (SELECT 1 FROM conductor.queue WHERE task_id = $1)
             OR EXISTS (SELECT 1 FROM conductor.running WHERE task_id = $1) AS live`,
        [taskId],
      );
      return rows[0].live;
    },

    async settleGroup(e: Entry, status: string, retrying: boolean): Promise<void> {
      const outcome = groupOutcome(e, status, retrying);
      if (!outcome) return;
      await s.q(UPSERT_OUTCOME, [outcome.entry_id, outcome.status]);
    },

    async groupResult(entryId: string): Promise<string | null> {
      return (await s.q('SELECT status FROM conductor.outcomes WHERE entry_id = $1', [entryId]))[0]?.status ?? null;
    },

    async requestCancel(entryId: string): Promise<void> {
      await s.q('INSERT INTO conductor.cancels (entry_id) VALUES ($1) ON CONFLICT DO NOTHING', [entryId]);
    },

    async cancelRequests(): Promise<string[]> {
      return (await s.q<{ entry_id: string }>('SELECT entry_id FROM conductor.cancels')).map((r) => r.entry_id);
    },

    async clearCancel(entryId: string): Promise<void> {
      await s.q('DELETE FROM conductor.cancels WHERE entry_id = $1', [entryId]);
    },
  };
}
