import { InputError } from '../../errors.js';
import { checkId } from '../../ids.js';
import { FORMAT, type Entry, type Schedule } from '../../model.js';
import { scheduleProblem } from '../check.js';
import { retiredCountersOf, retiredKey } from '../policy.js';
import type { Awaitable, PromotionPlan, RetiredCounters, ScheduleStore } from '../roles.js';
import { everQueued, insertEntries, insertEntry } from './queue.js';
import type { PgSession } from './session.js';

/** State rows holding the counters of deleted schedules. */
const RETIRED = 'retired-counters:';

class IdTaken extends InputError {}

/** conductor.schedules: one row per schedule, changed under its row lock. */
export function pgSchedules(s: PgSession): ScheduleStore {
  const checkedSchedule = async (row: { task_id: string; body: any }): Promise<Schedule | null> => {
    const why = scheduleProblem(row.body, row.task_id, 'row key', s.checks);
    if (!why) return row.body as Schedule;
    await s.quarantine('schedules', 'task_id', row.task_id, row.body, why);
    return null;
  };

  return {
    async readSchedule(id: string): Promise<Schedule | null> {
      const rows = await s.q('SELECT task_id, body FROM conductor.schedules WHERE task_id = $1', [checkId(id)]);
      return rows[0] ? checkedSchedule(rows[0]) : null;
    },

    async scheduleExists(id: string): Promise<boolean> {
      return (await s.q('SELECT 1 FROM conductor.schedules WHERE task_id = $1', [checkId(id)])).length > 0;
    },

    async listSchedules(): Promise<Schedule[]> {
      const out: Schedule[] = [];
      for (const row of await s.q('SELECT task_id, body FROM conductor.schedules ORDER BY task_id COLLATE "C"')) {
        const sc = await checkedSchedule(row);
        if (sc) out.push(sc);
      }
      return out;
    },

    async createSchedule(sc: Schedule): Promise<boolean> {
      const rows = await s.q(
        'INSERT INTO conductor.schedules (task_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1',
        [checkId(sc.task_id), JSON.stringify(sc)],
      );
      return rows.length > 0;
    },

    createSchedules: (list) => createSchedules(s, list),

    promote: (id, plan) => promote(s, id, plan),

    async updateSchedule(id: string, change: (s: Schedule) => Awaitable<Schedule | undefined>): Promise<Schedule | null> {
      return s.tx(async (c) => {
        const r = await c.query('SELECT body FROM conductor.schedules WHERE task_id = $1 FOR UPDATE', [checkId(id)]);
        if (!r.rows[0]) return null;
        const why = scheduleProblem(r.rows[0].body, id, 'row key', s.checks);
        if (why) {
          await s.quarantineIn(c, 'schedules', 'task_id', id, r.rows[0].body, why);
          return null;
        }
        const cur = r.rows[0].body as Schedule;
        const next = await change(cur);
        if (next === undefined) return cur;
        await c.query('UPDATE conductor.schedules SET body = $2 WHERE task_id = $1', [id, JSON.stringify(next)]);
        return next;
      });
    },

    deleteSchedule: (id) => deleteSchedule(s, id),

    async retiredCounters(): Promise<RetiredCounters[]> {
      return (await s.q(`SELECT body FROM conductor.state WHERE starts_with(name, $1)`, [RETIRED])).map(
        (r) => r.body as RetiredCounters,
      );
    },
  };
}

/** Every schedule or none: one that is taken rolls the others back. */
async function createSchedules(s: PgSession, list: Schedule[]): Promise<boolean> {
  try {
    await s.tx(async (c) => {
      // One statement for the lot (an `apply` of many); a taken id, or one given twice, inserts fewer rows.
      const r = await c.query(
        'INSERT INTO conductor.schedules (task_id, body) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT DO NOTHING',
        [list.map((sc) => checkId(sc.task_id)), list.map((sc) => JSON.stringify(sc))],
      );
      if (r.rowCount !== list.length) throw new IdTaken('');
    });
    return true;
  } catch (err) {
    if (err instanceof IdTaken) return false;
    throw err;
  }
}

/** One transaction: the schedule's new state and its entries commit together or not at all. */
async function promote(s: PgSession, id: string, plan: (s: Schedule) => Awaitable<PromotionPlan | undefined>): Promise<Entry[]> {
  return s.tx(async (c) => {
    const r = await c.query('SELECT body FROM conductor.schedules WHERE task_id = $1 FOR UPDATE', [checkId(id)]);
    const p = r.rows[0] && (await plan(r.rows[0].body as Schedule));
    if (!p) return [];
    const queued: Entry[] = [];
    for (const e of p.recover) if (!(await everQueued(c, e.entry_id)) && (await insertEntry(c, e))) queued.push(e);
    const fresh = await insertEntries(c, p.fresh);
    queued.push(...p.fresh.filter((e: Entry) => fresh.has(e.entry_id)));
    await c.query('UPDATE conductor.schedules SET body = $2 WHERE task_id = $1', [
      id,
      JSON.stringify({ ...p.schedule, pending: null }),
    ]);
    return queued;
  });
}

/** The schedule's counters move to a state row in the same transaction as the delete. */
async function deleteSchedule(s: PgSession, id: string): Promise<boolean> {
  return s.tx(async (c) => {
    const r = await c.query('DELETE FROM conductor.schedules WHERE task_id = $1 RETURNING body', [checkId(id)]);
    if (!r.rows[0]) return false;
    const kept = retiredCountersOf(r.rows[0].body, FORMAT);
    if (kept) {
      await c.query('INSERT INTO conductor.state (name, body) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET body = $2', [
        `${RETIRED}${retiredKey(kept)}`,
        JSON.stringify(kept),
      ]);
    }
    return true;
  });
}
