import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkId } from '../../ids.js';
import { FORMAT, type Entry, type Schedule } from '../../model.js';
import { createExclusive, exists, fsyncDir, listNames, readText, writeJsonAtomic } from '../atomic.js';
import { scheduleProblem } from '../check.js';
import { retiredCountersOf, retiredKey } from '../policy.js';
import type { Awaitable, PromotionPlan, RetiredCounters, ScheduleStore } from '../roles.js';
import type { FileHome } from './home.js';
import { withLock } from './locks.js';
import type { FileQueue } from './queue.js';

/** What promotion asks of the other roles: was an entry ever queued? */
export interface EverQueued {
  entryIsLive(entryId: string): boolean;
  executionExists(executionId: string): boolean;
  groupResult(entryId: string): string | null;
}

/**
 * schedules/<task_id>.json, changed under locks/schedule-<id>; counters/
 * keeps the counters of deleted schedules.
 */
export function fileSchedules(h: FileHome, queue: FileQueue, seen: EverQueued): ScheduleStore {
  const checkSchedule =
    (file: string) =>
    (v: any): string | null =>
      scheduleProblem(v, path.basename(file, '.json'), 'file name', h.checks);
  const readSchedule = (id: string): Schedule | null => {
    const file = h.schedulePath(id);
    return h.readJson<Schedule>(file, checkSchedule(file));
  };
  const scheduleExists = (id: string): boolean => exists(h.schedulePath(id));
  const createSchedule = (s: Schedule): boolean => createExclusive(h.schedulePath(s.task_id), JSON.stringify(s, null, 2) + '\n');

  /**
   * Was this entry ever queued? Looked for where it may be, in the order an
   * entry moves (queue, running or trash, then history), so one that moves on
   * while we look is still found.
   */
  const everQueued = (entryId: string): boolean =>
    seen.entryIsLive(entryId) ||
    exists(path.join(h.dir('trash'), `${entryId}.json`)) ||
    seen.executionExists(`${entryId}.1`) ||
    seen.groupResult(entryId) !== null;

  return {
    readSchedule,
    scheduleExists,
    createSchedule,

    /** Every readable schedule, sorted by id; unreadable files are quarantined and reported. */
    listSchedules(): Schedule[] {
      const out: Schedule[] = [];
      for (const name of listNames(h.dir('schedules')).sort()) {
        const file = path.join(h.dir('schedules'), name);
        if (!name.endsWith('.json')) {
          h.quarantine(file, 'not a schedule file (expected <task-id>.json)');
          continue;
        }
        const s = h.readJson<Schedule>(file, checkSchedule(file));
        if (s) out.push(s);
      }
      return out;
    },

    /** Callers creating schedules hold the `schedules` lock, so the check below cannot be raced by another conductor. */
    async createSchedules(list: Schedule[]): Promise<boolean> {
      if (list.some((s) => scheduleExists(s.task_id))) return false;
      if (list.length === 1) return createSchedule(list[0]);
      await h.commit(
        list.map((s) => ({ dir: 'schedules', name: `${checkId(s.task_id)}.json`, data: JSON.stringify(s, null, 2) + '\n' })),
      );
      return true;
    },

    promote: (id, plan) => promote(h, queue, everQueued, readSchedule, id, plan),

    /** Read-modify-write of one schedule under its lock. */
    async updateSchedule(id: string, change: (s: Schedule) => Awaitable<Schedule | undefined>): Promise<Schedule | null> {
      return withLock(h, `schedule-${id}`, async () => {
        const cur = readSchedule(id);
        if (!cur) return null;
        const next = await change(cur);
        if (next === undefined) return cur;
        writeJsonAtomic(h.schedulePath(id), next);
        return next;
      });
    },

    deleteSchedule: (id) => deleteSchedule(h, id),

    retiredCounters(): RetiredCounters[] {
      const out: RetiredCounters[] = [];
      for (const name of listNames(h.dir('counters'))) {
        const file = path.join(h.dir('counters'), name);
        const r = h.readJson<RetiredCounters>(file, (v) => (retiredCountersOf(v, FORMAT) ? null : 'not a counters record'));
        if (r) out.push(r);
      }
      return out;
    },
  };
}

/** Advances one schedule and queues what it made due, under the schedule's lock. */
function promote(
  h: FileHome,
  queue: FileQueue,
  everQueued: (entryId: string) => boolean,
  readSchedule: (id: string) => Schedule | null,
  id: string,
  plan: (s: Schedule) => Awaitable<PromotionPlan | undefined>,
): Promise<Entry[]> {
  return withLock(h, `schedule-${id}`, async () => {
    const cur = readSchedule(id);
    const p = cur && (await plan(cur));
    if (!p) return [];
    const file = h.schedulePath(id);
    // The intent first: a crash below leaves `pending` for the next promotion to finish.
    if (p.fresh.length || p.recover.length) writeJsonAtomic(file, { ...p.schedule, pending: [...p.recover, ...p.fresh] });
    const queued: Entry[] = [];
    for (const e of p.recover) if (!everQueued(e.entry_id) && queue.enqueue(e)) queued.push(e);
    for (const e of p.fresh) if (queue.enqueue(e)) queued.push(e);
    writeJsonAtomic(file, { ...p.schedule, pending: null });
    return queued;
  });
}

/**
 * The counters go to counters/ (durably) before the schedule file goes: a
 * crash in between leaves a record whose schedule still exists, which stats
 * skips and the next delete overwrites.
 */
function deleteSchedule(h: FileHome, id: string): Promise<boolean> {
  return withLock(h, `schedule-${id}`, () => {
    const file = h.schedulePath(id);
    const text = readText(file);
    if (text === null) return false;
    const kept = retiredCountersOf(parseOrNull(text), FORMAT);
    if (kept) {
      writeJsonAtomic(path.join(h.dir('counters'), `${retiredKey(kept)}.json`), kept);
      fsyncDir(h.dir('counters'));
    }
    fs.unlinkSync(file);
    return true;
  });
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
