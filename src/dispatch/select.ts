// Select: walk the ranked queue once a round, read what each entry's gates need, ask them in
// order, and act on the answer (start, wait with a reason, skip, stop the round).
import { isReady, rankEntries } from '../queue/order.js';
import type { QueuedRef, Schedule } from '../model.js';
import { isoMsInZone } from '../time.js';
import { recordSkipped } from './finish.js';
import {
  admissionGate,
  breakerGate,
  concurrencyGate,
  dependencyGate,
  estimateOf,
  firstBroken,
  overlapGate,
  reservationGate,
  starving,
  type Decision,
  type Upstream,
} from './gates.js';
import { pendingLoad } from './load-window.js';
import { addToBatch, newBatch, startBatch, startEntry } from './start.js';
import { runningCount, type LoopState, type Round } from './state.js';

/** Entries other processes queue are seen within this long. */
const RELIST_MS = 250;

/**
 * The select phase: relist when due, then start what the gates let through, in rank order.
 * Consecutive entries the gates let through are claimed together (one round trip on PostgreSQL:
 * Batch); any other decision is acted on only once the claims before it are settled, and is
 * made again if some of them were lost to another dispatcher.
 */
export async function selectPhase(st: LoopState, round: Round, now: number): Promise<void> {
  await relist(st, round, now);
  round.pending = pendingLoad(st.load, now);
  round.runningTasks = new Set([...st.active.values()].map((a) => a.entry.task_id));
  const batch = newBatch();
  for (const e of st.queue.ranked) {
    if (st.queue.taken.has(e.entry_id) || !isReady(e, now)) continue;
    let v = await evaluate(st, round, e, now, batch.items.length);
    if (v.d.kind === 'start' && !v.trial) {
      addToBatch(st, round, batch, e, v.s);
      continue;
    }
    if (batch.items.length) {
      const settled = await startBatch(st, round, batch, now);
      if (settled === 'full') return;
      if (settled === 'lost') v = await evaluate(st, round, e, now, 0);
    }
    if (!(await act(st, round, e, v.d, v.s, now))) return;
  }
  if (batch.items.length) await startBatch(st, round, batch, now);
}

/** Rebuilds the ranking from the store when something may have changed it, or RELIST_MS passed. */
async function relist(st: LoopState, round: Round, now: number): Promise<void> {
  const { store } = st.ctx;
  const q = st.queue;
  const due = q.needList || now - q.listedAt >= RELIST_MS;
  if (due || q.recount) q.othersRunning = (await store.runningOwners()).filter((owner) => owner !== st.me.token).length;
  q.recount = false;
  if (!due) return;
  q.ranked = rankEntries(await store.listQueued(), now, st.o.starvationMs);
  q.queuedIds = q.ranked.some((r) => r.grouped) ? new Set(q.ranked.map((r) => r.entry_id)) : new Set();
  q.taken.clear();
  q.listedAt = now;
  q.needList = false;
  round.freshList = true;
}

/**
 * The runs the concurrency gate counts. A dispatcher with none of its own, on a store whose claims
 * enforce the limit, counts none: its count of the others' runs is stale as soon as one ends, and
 * only a claim both sees the slot another freed and, finding none, makes it wait for the next.
 */
function countedRuns(st: LoopState, batched: number): number {
  if (st.ctx.store.claimsEnforceLimit && st.active.size === 0 && batched === 0) return 0;
  return runningCount(st) + batched;
}

interface Verdict {
  d: Decision;
  s: Schedule | null;
  /** Its breaker is open or half-open: a start is its trial, which is started on its own. */
  trial?: boolean;
}

/**
 * The first gate that does not say `start`; the reads are made only as far as the gates get.
 * `batched`: entries let through before this one whose claims are not made yet (they count).
 */
async function evaluate(st: LoopState, round: Round, e: QueuedRef, now: number, batched: number): Promise<Verdict> {
  const limits = st.o.limits;
  let d = reservationGate(round.reservedBy);
  if (d.kind === 'start') d = concurrencyGate(countedRuns(st, batched), limits);
  if (d.kind !== 'start') return { d, s: null };
  const full = e.grouped ? await st.ctx.store.readQueued(e) : null;
  if (e.grouped && !full) return { d: { kind: 'drop' }, s: null };
  if (full && full.after.length) {
    d = await dependencies(st, full.after);
    if (d.kind !== 'start') return { d, s: null };
  }
  const s = await st.schedules.get(e.task_id);
  d = overlapGate(s, e, round.runningTasks);
  if (d.kind !== 'start') return { d, s };
  const held = s !== null && st.breakerHeld.has(s.circuit_breaker);
  const b = s && !held ? await st.breakers.get(s.circuit_breaker) : null;
  d = breakerGate(s, held, b, e.entry_id, now);
  if (d.kind !== 'start') return { d, s };
  round.readings ??= st.readProbe(now);
  const trial = b !== null && b.state !== 'closed';
  return { d: admissionGate(estimateOf(s), round.readings, round.pending, countedRuns(st, batched), limits), s, trial };
}

/** The run group gate's inputs: each upstream's outcome, and one that is gone (looked for only if none broke). */
async function dependencies(st: LoopState, after: string[]): Promise<Decision> {
  const upstream: Upstream[] = [];
  for (const id of after) upstream.push({ id, result: await st.ctx.store.groupResult(id) });
  const lost = firstBroken(upstream) ? null : await findLost(st, upstream);
  return dependencyGate(upstream, lost);
}

/**
 * Gone = not queued, not running, and (read again, after those checks) no outcome: an entry
 * only moves forward, so one that finished meanwhile shows up in this last read.
 */
async function findLost(st: LoopState, upstream: Upstream[]): Promise<string | null> {
  const { store } = st.ctx;
  for (const u of upstream) {
    if (
      u.result === null &&
      !st.queue.queuedIds.has(u.id) &&
      !(await store.entryIsLive(u.id)) &&
      (await store.groupResult(u.id)) === null
    ) {
      return u.id;
    }
  }
  return null;
}

/** Carries out one decision; false when nothing more may start this round. */
async function act(st: LoopState, round: Round, e: QueuedRef, d: Decision, s: Schedule | null, now: number): Promise<boolean> {
  switch (d.kind) {
    case 'start':
      return startEntry(st, round, e, s, now);
    case 'block':
      return block(st, round, e, d, now);
    case 'skip':
      await skip(st, e, d, now);
      return true;
    case 'drop':
      st.queue.taken.add(e.entry_id);
      return true;
    case 'hold':
      return true;
    case 'stop-round':
      st.blocked.blockRest(d.reason);
      return false;
  }
}

function block(st: LoopState, round: Round, e: QueuedRef, d: Extract<Decision, { kind: 'block' }>, now: number): boolean {
  const since = st.blocked.block(e.entry_id, d.reason, now);
  if (d.never) st.neverFits.add(e.entry_id);
  if (!d.byLoad) return true;
  round.blockedByLoad = true;
  if (starving(since, now, st.o.starvationMs)) round.reservedBy = e.entry_id;
  if (!d.blocksRest) return true;
  st.blocked.blockRest(d.reason);
  return false;
}

async function skip(st: LoopState, e: QueuedRef, d: Extract<Decision, { kind: 'skip' }>, now: number): Promise<void> {
  const { store } = st.ctx;
  st.queue.taken.add(e.entry_id);
  const t = await store.takeQueued(e.entry_id, e.name);
  if (!t) return;
  await recordSkipped(st.ctx, t, d.reason, st.summary, st.o);
  // An entry that asked for retries must not be lost to a skip: park it.
  if (d.park && t.max_attempts > 1) {
    await store.toDlq({
      ...t,
      dead_at: isoMsInZone(now),
      last_exit_code: t.last_exit_code ?? null,
      last_error: d.reason,
      log_tail: '',
    });
  }
}
