import type { Definition } from '../model.js';
import { parseDuration } from '../time.js';

const POLICY: Record<Definition['retry_policy'], { attempts: number; baseMs: number }> = {
  none: { attempts: 1, baseMs: 1000 },
  standard: { attempts: 3, baseMs: 2000 },
  aggressive: { attempts: 5, baseMs: 500 },
};

export const BACKOFF_CAP_MS = 3_600_000;

/** Total attempts: an explicit --retries N means N retries after the first. */
export function maxAttempts(def: Pick<Definition, 'retries' | 'retry_policy'>): number {
  if (def.retries !== null && def.retries !== undefined) return def.retries + 1;
  return POLICY[def.retry_policy].attempts;
}

/**
 * Delay before attempt `attempt + 1`: base doubling per attempt, capped, with
 * "equal jitter" (half fixed, half random) so retries of many tasks spread out.
 */
export function backoffMs(
  def: Pick<Definition, 'backoff' | 'retry_policy'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = def.backoff ? parseDuration(def.backoff, 'backoff') : POLICY[def.retry_policy].baseMs;
  const exp = Math.min(BACKOFF_CAP_MS, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
