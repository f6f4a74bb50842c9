import type { Command } from 'commander';
import { checkId } from '../ids.js';
import { getSchedule } from '../app/schedules.js';
import { globals, openContext, printJson, reportProblems } from './common.js';
import { printable } from '../text.js';

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('show one schedule')
    .argument('<id>', 'task id')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id);
      const ctx = await openContext(cmd, 'full', 'existing');
      const view = await getSchedule(ctx, id);
      reportProblems(ctx);
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
