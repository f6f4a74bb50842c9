import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { parseCron, nextCronRun } from '../schedule/cron.js';
import { parseIntIn } from '../schedule/definition.js';
import { settings } from '../config.js';
import { isValidZone, isoInZone, localZone, parseTimestamp, pinnedClock } from '../time.js';
import { globals, printJson } from './common.js';
import { describeCron } from './view.js';

export function registerNext(program: Command): void {
  program
    .command('next')
    .description('preview the next run times of a cron expression')
    .argument('<cron-expr>', "e.g. '30 2 * * *' or @daily")
    .option('--tz <zone>', 'IANA time zone (default: the machine\'s)')
    .option('--count <n>', 'how many', '5')
    .option('--from <timestamp>', 'start after this instant instead of now')
    .action(async (expr: string, opts, cmd: Command) => {
      const tz = opts.tz ?? localZone();
      if (!isValidZone(tz)) throw new InputError(`invalid time zone '${tz}': expected an IANA name such as Europe/Berlin`);
      const count = parseIntIn('count', opts.count, 1, 1000);
      const spec = parseCron(expr);
      let t = opts.from === undefined ? pinnedClock(settings().now)() : parseTimestamp(opts.from, '--from');
      const runs: string[] = [];
      for (let i = 0; i < count; i++) {
        const n = nextCronRun(spec, t, tz);
        if (n === null) break;
        runs.push(isoInZone(n, tz));
        t = n;
      }
      if (globals(cmd).json) printJson({ expr, tz, description: describeCron(expr), runs });
      else {
        process.stdout.write(`${describeCron(expr) ?? expr} (${tz})\n`);
        for (const r of runs) process.stdout.write(`  ${r}\n`);
      }
    });
}
