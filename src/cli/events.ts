import type { Command } from 'commander';
import { recentEvents } from '../app/events.js';
import { parseIntIn } from '../schedule/definition.js';
import { globals, openContext, printJson, printTable } from './common.js';

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('recent events, triggered or emitted, newest first')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts, cmd: Command) => {
      const limit = parseIntIn('limit', opts.limit, 1, 100_000);
      const events = await recentEvents(await openContext(cmd, 'full', 'existing'), limit);
      if (globals(cmd).json) {
        printJson(events);
        return;
      }
      if (events.length === 0) {
        process.stdout.write('no events\n');
        return;
      }
      printTable(
        ['AT', 'EVENT', 'DEPTH', 'QUEUED', 'NOTE'],
        events.map((e) => [e.at, e.event, e.depth, e.queued.length, e.note ?? null]),
      );
    });
}
