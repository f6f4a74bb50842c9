import type { BreakerState } from '../model.js';

export interface BreakerView {
  state: BreakerState;
  consecutive_failures: number;
  opened_at: string | null;
  trial_entry: string | null;
}

/** The state a breaker is in at `nowMs`: an open breaker turns half-open after its cool-down. */
export function breakerStateAt(b: BreakerView | null, nowMs: number, cooldownMs: number): BreakerState {
  if (!b || b.state === 'closed') return 'closed';
  if (b.state === 'open' && b.opened_at && nowMs - Date.parse(b.opened_at) >= cooldownMs) return 'half-open';
  return b.state;
}

/** May this entry run? Closed: yes. Half-open: only one trial at a time. Open: no. */
export function breakerAllows(b: BreakerView | null, entryId: string, nowMs: number, cooldownMs: number): boolean {
  const state = breakerStateAt(b, nowMs, cooldownMs);
  if (state === 'closed') return true;
  if (state === 'open') return false;
  return !b!.trial_entry || b!.trial_entry === entryId;
}

/** The breaker after an execution finished. */
export function breakerAfter<T extends BreakerView>(b: T, success: boolean, threshold: number, nowIso: string): T {
  if (success) return { ...b, state: 'closed', consecutive_failures: 0, opened_at: null, trial_entry: null };
  const failures = b.consecutive_failures + 1;
  const wasTrial = b.state !== 'closed';
  if (wasTrial || failures >= threshold) {
    return { ...b, state: 'open', consecutive_failures: failures, opened_at: nowIso, trial_entry: null };
  }
  return { ...b, consecutive_failures: failures };
}
