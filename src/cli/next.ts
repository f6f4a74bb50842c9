import type { Command } from 'commander';
import { previewCron } from '../app/preview.js';
import { InputError } from '../errors.js';
import { parseIntIn } from '../schedule/definition.js';
import { settings } from '../config.js';
import { isValidZone, localZone, parseTimestamp, pinnedClock } from '../time.js';
import { globals, printJson } from './common.js';

export function registerNext(program: Command): void {
  program
    .command('next')
    .description('preview the next run times of a cron expression')
    .argument('<cron-expr>', "e.g. '30 2 * * *' or @daily")
    .option('--tz <zone>', "IANA time zone (default: the machine's)")
    .option('--count <n>', 'how many', '5')
    .option('--from <timestamp>', 'start after this instant instead of now')
    .action(async (expr: string, opts, cmd: Command) => {
      const tz = opts.tz ?? localZone();
      // Checked before --count, as always: the first bad option is the one named.
      if (!isValidZone(tz)) throw new InputError(`invalid time zone '${tz}': expected an IANA name such as Europe/Berlin`);
      const count = parseIntIn('count', opts.count, 1, 1000);
      const from = () => (opts.from === undefined ? pinnedClock(settings().now)() : parseTimestamp(opts.from, '--from'));
      const preview = previewCron(expr, { tz, count, from });
      if (globals(cmd).json) printJson(preview);
      else {
        process.stdout.write(`${preview.description ?? expr} (${tz})\n`);
        for (const r of preview.runs) process.stdout.write(`  ${r}\n`);
      }
    });
}
