import { InputError } from '../errors.js';
import { parseDuration } from '../time.js';

/** `30 seconds`, `5 minutes`, `1 hour`, `2 days`, `1 week`, or `30s`, `5m`, `1h`, `2d`. */
export function parseInterval(expr: string): number {
  const ms = parseDuration(expr, 'interval');
  if (ms < 1000) throw new InputError(`invalid interval '${expr}': the shortest interval is 1 second`);
  return ms;
}

/** The first slot of the grid anchor + k*every that lies strictly after `afterMs`. */
export function nextIntervalRun(anchorMs: number, everyMs: number, afterMs: number): number {
  if (afterMs < anchorMs) return anchorMs;
  const k = Math.floor((afterMs - anchorMs) / everyMs) + 1;
  return anchorMs + k * everyMs;
}
