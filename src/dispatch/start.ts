// Start: claim an entry the gates let through, launch its handler, and count it everywhere the
// next gates look (slots, load window, overlap, summary).
import type { Context } from '../context.js';
import { executionIdOf } from '../ids.js';
import type { Entry, QueuedRef, Schedule } from '../model.js';
import { localBoot } from '../run/proc.js';
import { runHandler } from '../run/spawn.js';
import { isoMsInZone, parseDuration } from '../time.js';
import { recordSkipped, whenDone } from './finish.js';
import { estimateOf } from './gates.js';
import { addStart } from './load-window.js';
import type { Host, LoopState, Round } from './state.js';
import type { Active } from './types.js';

/** Claims and starts one entry; false when the home's slots are full (the round stops). */
export async function startEntry(st: LoopState, round: Round, e: QueuedRef, s: Schedule | null, now: number): Promise<boolean> {
  const max = st.o.limits.maxConcurrent;
  st.queue.taken.add(e.entry_id);
  st.blocked.forget(e.entry_id);
  const claimed = await st.ctx.store.claim(e, st.me.token, max);
  if (claimed === 'full') {
    // Other hosts' runs filled the limit since the last listing (or ours are not released yet).
    st.queue.recount = true;
    st.blocked.blockRest(`blocked: running = max-concurrent ${max}`);
    return false;
  }
  if (!claimed) return true;
  if (s) await beginTrial(st, s, claimed);
  await begin(st, round, claimed, s, now);
  return true;
}

/** A claimed entry: launched, or recorded skipped when its schedule is gone. */
async function begin(st: LoopState, round: Round, claimed: Entry, s: Schedule | null, now: number): Promise<void> {
  if (!s) {
    await recordSkipped(st.ctx, claimed, `schedule '${claimed.task_id}' no longer exists`, st.summary, st.o, st.me.token);
    return;
  }
  const a = launch(st, claimed, s, now);
  count(st, round, a, now);
  whenDone(st, a);
}

/** Entries the gates let through, in rank order, whose claims are made together. */
export interface Batch {
  items: { ref: QueuedRef; s: Schedule | null }[];
}

export function newBatch(): Batch {
  return { items: [] };
}

/**
 * Lets an entry through ahead of its claim: the next gates of the round see it as started
 * (its task runs, its estimate is pending). If its claim is lost, the round only erred on the
 * side of caution.
 */
export function addToBatch(st: LoopState, round: Round, batch: Batch, ref: QueuedRef, s: Schedule | null): void {
  const est = estimateOf(s);
  st.queue.taken.add(ref.entry_id);
  st.blocked.forget(ref.entry_id);
  round.runningTasks.add(ref.task_id);
  round.pending.cpu += est.cpu;
  round.pending.mem += est.mem;
  batch.items.push({ ref, s });
}

/**
 * Claims the batch in one step and starts what was claimed; empties it. 'full': the home's
 * slots are taken (the round stops); 'lost': another dispatcher took some of them first.
 */
export async function startBatch(st: LoopState, round: Round, batch: Batch, now: number): Promise<'all' | 'lost' | 'full'> {
  const items = batch.items.splice(0);
  const max = st.o.limits.maxConcurrent;
  const { entries, full } = await st.ctx.store.claimAll(
    items.map((i) => i.ref),
    st.me.token,
    max,
    st.active.size === 0,
  );
  const schedules = new Map(items.map((i) => [i.ref.entry_id, i.s]));
  // Counted back out of the round: count() adds each started one again.
  for (const i of items) {
    const est = estimateOf(i.s);
    round.pending.cpu -= est.cpu;
    round.pending.mem -= est.mem;
  }
  for (const e of entries) await begin(st, round, e, schedules.get(e.entry_id) ?? null, now);
  if (full) {
    // Not tried: ranked as before at the next round, not skipped until the next listing.
    const got = new Set(entries.map((e) => e.entry_id));
    for (const i of items) if (!got.has(i.ref.entry_id)) st.queue.taken.delete(i.ref.entry_id);
    // Other hosts' runs filled the limit since the last listing (or ours are not released yet).
    st.queue.recount = true;
    st.blocked.blockRest(`blocked: running = max-concurrent ${max}`);
    return 'full';
  }
  return entries.length < items.length ? 'lost' : 'all';
}

/** The gate let an entry through an open breaker past its cool-down: it is the half-open trial. */
async function beginTrial(st: LoopState, s: Schedule, claimed: Entry): Promise<void> {
  const b = await st.breakers.get(s.circuit_breaker);
  if (!b || b.state !== 'open') return;
  await st.ctx.store.updateBreaker(s.circuit_breaker, (cur) => ({ ...cur, state: 'half-open', trial_entry: claimed.entry_id }));
  st.breakers.forget(s.circuit_breaker);
}

/** What the rest of this round (and the load window, for 2 s) must see of a start. */
function count(st: LoopState, round: Round, a: Active, now: number): void {
  const est = estimateOf(a.schedule);
  st.active.set(a.entry.entry_id, a);
  round.runningTasks.add(a.entry.task_id);
  addStart(st.load, now, est);
  round.pending.cpu += est.cpu;
  round.pending.mem += est.mem;
  st.summary.started++;
  round.startedNow++;
}

function launch(st: LoopState, e: Entry, s: Schedule, now: number): Active {
  const { ctx, o } = st;
  const executionId = executionIdOf(e);
  const env: NodeJS.ProcessEnv = {
    CONDUCTOR_TASK_ID: e.task_id,
    CONDUCTOR_ENTRY_ID: e.entry_id,
    CONDUCTOR_EXECUTION_ID: executionId,
    CONDUCTOR_ATTEMPT: String(e.attempt),
    CONDUCTOR_EVENT: e.event ?? '',
    CONDUCTOR_PAYLOAD: e.payload ?? '',
    CONDUCTOR_EVENT_DEPTH: String(e.event_depth),
  };
  const run = runHandler({
    command: s.handler,
    cwd: s.cwd ?? st.host.cwd,
    env,
    baseEnv: baseEnv(ctx, st.host, s),
    logPath: ctx.store.logPath(executionId),
    logCap: o.logCap,
    runFile: ctx.store.runFilePath(executionId),
    boot: localBoot(),
    timeoutMs: s.timeout ? parseDuration(s.timeout, 'timeout') : 0,
    graceMs: o.graceMs,
    sampler: st.sampler,
  });
  const entry = { ...e, status: 'running' as const, execution_id: executionId, started_at: isoMsInZone(now) };
  o.report({ type: 'started', entry, execution_id: executionId });
  return { entry, schedule: s, executionId, run };
}

const baseEnvs = new WeakMap<Schedule, NodeJS.ProcessEnv>();

/** The environment every run of a schedule shares, built once per schedule object. */
function baseEnv(ctx: Context, host: Host, s: Schedule): NodeJS.ProcessEnv {
  let env = baseEnvs.get(s);
  if (!env) {
    env = { ...host.env, ...s.env, CONDUCTOR_HOME: ctx.store.home };
    baseEnvs.set(s, env);
  }
  return env;
}
