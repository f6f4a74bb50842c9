import { InputError } from '../errors.js';
import { nextCronRun, parseCron } from '../schedule/cron.js';
import { isValidZone, isoInZone } from '../time.js';
import { describeCron } from './schedule-view.js';

/** What `next --json` prints: a cron expression's next run times, in words too. */
export interface CronPreview {
  expr: string;
  tz: string;
  description: string | null;
  runs: string[];
}

/**
 * The next `count` run times of `expr` in `tz` after the instant `from` gives;
 * fewer when it stops firing. `from` is asked after the expression is parsed, so
 * that a bad expression is the error named before a bad start.
 */
export function previewCron(expr: string, o: { tz: string; count: number; from: () => number }): CronPreview {
  if (!isValidZone(o.tz)) throw new InputError(`invalid time zone '${o.tz}': expected an IANA name such as Europe/Berlin`);
  const spec = parseCron(expr);
  const runs: string[] = [];
  let t = o.from();
  for (let i = 0; i < o.count; i++) {
    const n = nextCronRun(spec, t, o.tz);
    if (n === null) break;
    runs.push(isoInZone(n, o.tz));
    t = n;
  }
  return { expr, tz: o.tz, description: describeCron(expr), runs };
}
