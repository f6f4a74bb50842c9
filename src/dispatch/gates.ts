// Gates: may one queued entry start now? Each gate is a pure function of what the loop read for
// it (clock passed in, no store, no fs) and returns a decision; select.ts reads the inputs, asks
// the gates in order, and acts on the first answer that is not `start`.
import type { QueuedRef, Schedule } from '../model.js';
import { breakerAllows, type BreakerView } from '../policy/breaker.js';
import { admit, impossibleEstimate, type Limits, type Readings } from '../queue/admission.js';
import { parseDuration } from '../time.js';

export type Decision =
  /** This gate lets the entry through (the last gate's `start` starts it). */
  | { kind: 'start' }
  /**
   * It waits, and `status` says why. `byLoad`: the machine's load is what holds it (a one-shot
   * pass waits a little for load to fall; starvation reservation counts). `blocksRest`: nothing
   * further down can start either this round.
   */
  | { kind: 'block'; reason: string; byLoad?: boolean; blocksRest?: boolean; never?: boolean }
  /** It will never run: taken off the queue and recorded as skipped; `park` it in the DLQ if it asked for retries. */
  | { kind: 'skip'; reason: string; park?: boolean }
  /** It waits without a reason of its own: a failure that may open its breaker is being recorded. */
  | { kind: 'hold' }
  /** It left the queue since the listing: pass over it for the rest of this listing. */
  | { kind: 'drop' }
  /** Nothing more starts this round, for the reason given to every waiting entry. */
  | { kind: 'stop-round'; reason: string };

export const START: Decision = { kind: 'start' };

/** An entry that has waited past the starvation threshold holds everything ranked below it. */
export function reservationGate(reservedBy: string | null): Decision {
  if (!reservedBy) return START;
  return { kind: 'block', reason: `blocked: waiting behind ${reservedBy}, which has waited past the starvation threshold` };
}

/** Everything further down waits for a slot too: say so once, not per entry. */
export function concurrencyGate(running: number, limits: Limits): Decision {
  if (running < limits.maxConcurrent) return START;
  return { kind: 'stop-round', reason: `blocked: ${running} running = max-concurrent ${limits.maxConcurrent}` };
}

/** One upstream entry of a run group: its outcome, or null while it has none. */
export interface Upstream {
  id: string;
  result: string | null;
}

/** The first upstream that ended other than in success: its run group cannot go on. */
export function firstBroken(upstream: Upstream[]): Upstream | undefined {
  return upstream.find((u) => u.result !== null && u.result !== 'success');
}

/**
 * A run group's member runs once all it waits for succeeded; it is skipped when one ended
 * otherwise or is gone (`lostId`: not queued, not running, no outcome), and waits meanwhile.
 */
export function dependencyGate(upstream: Upstream[], lostId: string | null): Decision {
  const broken = firstBroken(upstream);
  if (broken) return { kind: 'skip', reason: `upstream ${broken.id} ended ${broken.result}` };
  if (lostId !== null) return { kind: 'skip', reason: `upstream ${lostId} is gone` };
  const waitingFor = upstream.filter((u) => u.result === null).map((u) => u.id);
  if (waitingFor.length) return { kind: 'block', reason: `waiting for ${waitingFor.join(', ')}` };
  return START;
}

/** overlap: queue — a run made by time waits while another run of its schedule runs here. */
export function overlapGate(
  s: Schedule | null,
  e: Pick<QueuedRef, 'task_id' | 'from_schedule'>,
  runningTasks: ReadonlySet<string>,
): Decision {
  if (s && e.from_schedule && s.overlap === 'queue' && runningTasks.has(e.task_id)) {
    return { kind: 'block', reason: `waiting: a run of ${e.task_id} is still running (overlap: queue)` };
  }
  return START;
}

/**
 * The schedule's circuit breaker: open skips the entry (parked if it asked for retries, so it
 * is not lost to the skip); half-open lets one trial through and holds the rest. `held`: a
 * failure that may open the breaker is still being recorded.
 */
export function breakerGate(s: Schedule | null, held: boolean, b: BreakerView | null, entryId: string, now: number): Decision {
  if (!s) return START;
  if (held) return { kind: 'hold' };
  if (!b || breakerAllows(b, entryId, now, parseDuration(s.breaker_cooldown, 'breaker cooldown'))) return START;
  if (b.state === 'open') return { kind: 'skip', reason: `circuit breaker '${s.circuit_breaker}' is open`, park: true };
  return { kind: 'block', reason: `waiting: circuit breaker '${s.circuit_breaker}' is half-open, a trial run is in progress` };
}

/** Estimates are the schedule's: an operator who corrects one corrects the queue too. */
export function estimateOf(s: Schedule | null): { cpu: number; mem: number } {
  return { cpu: s?.cpu ?? 0, mem: s?.mem ?? 0 };
}

/**
 * Live load plus what just started plus this entry's estimate must stay within the limits.
 * When the load alone is over a limit nothing can start, whatever its estimate: the round stops.
 */
export function admissionGate(
  est: { cpu: number; mem: number },
  readings: Readings,
  pending: { cpu: number; mem: number },
  running: number,
  limits: Limits,
): Decision {
  // Over this pass's own limits whatever the load: waiting for the load to fall is no use.
  const never = impossibleEstimate(est, limits);
  if (never) return { kind: 'block', reason: `blocked: never fits this pass's limits: ${never}`, never: true };
  const adm = admit(est, readings, pending, running, limits);
  if (adm.ok) return START;
  const blocksRest = adm.byLoad && !admit({ cpu: 0, mem: 0 }, readings, pending, running, limits).ok;
  return { kind: 'block', reason: adm.reason, byLoad: adm.byLoad, blocksRest };
}

/** An entry held by load for the starvation threshold reserves the machine: nothing below it starts. */
export function starving(blockedSince: number, now: number, starvationMs: number): boolean {
  return now - blockedSince >= starvationMs;
}
