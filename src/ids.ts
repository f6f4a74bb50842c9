import { randomBytes } from 'node:crypto';
import { InputError } from './errors.js';

/** Every id becomes a file name; this pattern keeps it inside its directory. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkId(id: unknown, what = 'task id'): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new InputError(
      `invalid ${what} '${String(id)}': use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return id;
}

let lastMs = 0;
let seq = 0;

/**
 * A time-ordered id: 9 base-36 digits of milliseconds, a per-process sequence
 * and random bits. Sorting names sorts by creation time, which gives FIFO and
 * newest-first listings without opening files.
 */
export function timeOrderedId(nowMs: number): string {
  if (nowMs === lastMs) seq++;
  else {
    lastMs = nowMs;
    seq = 0;
  }
  const t = Math.max(0, Math.floor(nowMs)).toString(36).padStart(9, '0');
  const s = seq.toString(36).padStart(3, '0');
  return `${t}${s}-${randomBytes(5).toString('hex')}`;
}

export function msOfTimeOrderedId(id: string): number {
  return parseInt(id.slice(0, 9), 36);
}

/**
 * The id of an entry's run in progress (or of its next one): ENTRY.N, N counting the entry's runs
 * across retries and dead-letter retries. A claimed entry keeps the count from before its start.
 */
export function executionIdOf(e: { entry_id: string; runs: number }): string {
  return `${e.entry_id}.${e.runs + 1}`;
}
