import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { InputError, NotFoundError, RunError } from '../errors.js';
import { checkId } from '../ids.js';
import type { Store } from '../store/store.js';
import { FORMAT, type Definition, type Schedule } from '../model.js';
import { impossibleEstimate } from '../queue/admission.js';
import { firstRun } from '../schedule/next.js';
import { isoInZone, isoOrNull } from '../time.js';
import { publicSchedule, type ScheduleView } from './schedule-view.js';

export const DEFAULT_LIMITS = { maxCpu: 80, maxMem: 85 };

export function newSchedule(def: Definition, nowMs: number): Schedule {
  return {
    format: FORMAT,
    ...def,
    created_at: isoInZone(nowMs),
    // Tells this schedule from one deleted before under the same id, even within the second
    // (the counters kept at a deletion are keyed by it).
    incarnation: randomBytes(8).toString('hex'),
    updated_at: isoInZone(nowMs),
    last_executed: null,
    next_execution: isoOrNull(firstRun(def, nowMs), def.tz),
    execution_count: 0,
    failure_count: 0,
    average_duration_ms: 0,
    measured_cpu_percent: null,
    measured_memory_mb: null,
    pending: null,
  };
}

/** An estimate that alone exceeds a limit could never start: refuse it up front. */
export function checkEstimates(def: Pick<Definition, 'cpu' | 'mem'>, limits = DEFAULT_LIMITS): void {
  const why = impossibleEstimate({ cpu: def.cpu, mem: def.mem }, limits);
  if (why) throw new InputError(`${why}: such a task could never start (raise --max-cpu/--max-mem or lower the estimate)`);
}

/**
 * Refuses unknown dependencies and cycles, printing the cycle
 * (`a -> b -> c -> a`). `graph` maps every task id to its dependencies.
 */
export function checkDependencyGraph(graph: Map<string, string[]>): void {
  for (const [id, deps] of graph) {
    for (const d of deps) if (!graph.has(d)) throw new InputError(`task '${id}' depends on unknown task id '${d}'`);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string) => {
    const st = state.get(id);
    if (st === 'done') return;
    if (st === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      throw new InputError(`dependency cycle: ${cycle.join(' -> ')}`);
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const d of graph.get(id) ?? []) visit(d);
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of [...graph.keys()].sort()) visit(id);
}

export async function dependencyGraph(ctx: Context, extra: Definition[] = []): Promise<Map<string, string[]>> {
  const g = new Map<string, string[]>();
  for (const s of await ctx.store.listSchedules()) g.set(s.task_id, s.depends_on ?? []);
  for (const d of extra) g.set(d.task_id, d.depends_on);
  return g;
}

/** The lock every creation of schedules holds, so that an `apply` creates all of its schedules or none. */
export const CREATE_LOCK = 'schedules';

/** Creates one schedule; answers `create --json`. */
export async function createSchedule(ctx: Context, def: Definition): Promise<ScheduleView> {
  checkEstimates(def);
  const s = await ctx.store.withLock(CREATE_LOCK, async () => {
    if (await ctx.store.scheduleExists(def.task_id)) throw new InputError(`task id '${def.task_id}' already exists`);
    if (def.depends_on.length) checkDependencyGraph(await dependencyGraph(ctx, [def]));
    const s = newSchedule(def, ctx.clock());
    if (!(await ctx.store.createSchedule(s))) throw new InputError(`task id '${def.task_id}' already exists`);
    return s;
  });
  return publicSchedule(ctx, s);
}

/** Enables (its next run computed from now) or disables a schedule; answers `enable --json`. */
export async function setEnabled(ctx: Context, id: string, enabled: boolean): Promise<ScheduleView> {
  checkId(id);
  const now = ctx.clock();
  const s = await ctx.store.updateSchedule(id, (cur) => {
    if (
      cur.enabled === enabled &&
      (enabled ? cur.next_execution !== null || cur.schedule_type === 'event' || cur.once_fired : true)
    ) {
      return undefined;
    }
    const next = enabled ? firstRun({ ...cur, enabled }, now, cur.once_fired) : null;
    return { ...cur, enabled, next_execution: isoOrNull(next, cur.tz), updated_at: isoInZone(now), pending: cur.pending };
  });
  if (!s) throw await missingSchedule(ctx.store, id);
  return publicSchedule(ctx, s);
}

/** Deletes a schedule no other depends on; its history stays. Answers `delete --json`. */
export async function deleteSchedule(ctx: Context, id: string): Promise<{ deleted: string }> {
  checkId(id);
  const dependents = (await ctx.store.listSchedules()).filter((s) => s.depends_on?.includes(id)).map((s) => s.task_id);
  if (dependents.length) {
    throw new InputError(`cannot delete '${id}': ${dependents.join(', ')} depend${dependents.length === 1 ? 's' : ''} on it`);
  }
  if (!(await ctx.store.deleteSchedule(id))) throw await missingSchedule(ctx.store, id);
  return { deleted: id };
}

/** One schedule as `get --json` shows it. */
export async function getSchedule(ctx: Context, id: string): Promise<ScheduleView> {
  checkId(id);
  return publicSchedule(ctx, await requireSchedule(ctx, id));
}

/** Every schedule as `list --json` shows it. */
export async function listSchedules(ctx: Context): Promise<ScheduleView[]> {
  const out: ScheduleView[] = [];
  for (const s of await ctx.store.listSchedules()) out.push(await publicSchedule(ctx, s));
  return out;
}

/** How many records are set aside (a listing mentions them). */
export async function countQuarantined(ctx: Context): Promise<number> {
  return (await ctx.store.listQuarantine()).length;
}

/** The schedule read, or the error saying it is unknown or was set aside (see missingSchedule). */
export async function requireSchedule(ctx: Context, id: string): Promise<Schedule> {
  const s = await ctx.store.readSchedule(id);
  if (s === null) throw await missingSchedule(ctx.store, id);
  return s;
}

/**
 * Why schedule `id` could not be had. A schedule set aside (by this command's
 * read just now, or before) is not an unknown id: the user made it and should
 * learn where it went and why; its record is unusable, so exit 1. The warning
 * a fresh set-aside would print at exit is taken over by this one line.
 */
export async function missingSchedule(store: Store, id: string): Promise<Error> {
  const mine = (file: string) => file === `schedules/${id}.json` || file === `schedules/${id}`;
  const i = store.problems.findIndex((p) => mine(p.file));
  if (i >= 0) {
    const [p] = store.problems.splice(i, 1);
    return new RunError(`schedule ${id} was set aside: ${p.reason} (${p.moved_to ?? 'left in place'})`);
  }
  const earlier = (await store.listQuarantine()).filter((q) => quarantinedFrom(q.file, id)).pop();
  // A PostgreSQL row is listed as 'quarantine/<n> (schedules/<id>)': the id is already said.
  if (earlier)
    return new RunError(`schedule ${id} was set aside: ${earlier.reason} (${earlier.file.replace(` (schedules/${id})`, '')})`);
  return new NotFoundError(`unknown task id '${id}'`);
}

/** quarantine/schedules__<id>.json[.<ms>] (files) or quarantine/<n> (schedules/<id>) (PostgreSQL). */
function quarantinedFrom(file: string, id: string): boolean {
  const name = `quarantine/schedules__${id}.json`;
  return (
    file === name ||
    (file.startsWith(`${name}.`) && /^\d+$/.test(file.slice(name.length + 1))) ||
    file.endsWith(` (schedules/${id})`)
  );
}
