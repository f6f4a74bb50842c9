import type { Command } from 'commander';
import { checkId } from '../ids.js';
import { globals, openContext, printJson, reportProblems, requireSchedule } from './common.js';
import { publicSchedule } from './view.js';
import { printable } from '../text.js';

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('show one schedule')
    .argument('<id>', 'task id')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id);
      const ctx = await openContext(cmd);
      const s = await requireSchedule(ctx.store, await ctx.store.readSchedule(id), id);
      reportProblems(ctx);
      const view = await publicSchedule(ctx, s);
      if (globals(cmd).json) {
        printJson(view);
        return;
      }
      const width = Math.max(...Object.keys(view).map((k) => k.length));
      for (const [k, v] of Object.entries(view)) {
        const text = v === null ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
        process.stdout.write(`${k.padEnd(width)}  ${printable(text)}\n`);
      }
    });
}
