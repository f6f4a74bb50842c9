import type { Command } from 'commander';
import { checkId } from '../ids.js';
import { deleteSchedule } from '../app/schedules.js';
import { globals, openContext, printJson } from './common.js';

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description('delete a schedule (its history stays)')
    .argument('<id>', 'task id')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id);
      const doc = await deleteSchedule(await openContext(cmd, 'full', { unknown: `unknown task id '${id}'` }), id);
      if (globals(cmd).json) printJson(doc);
      else process.stdout.write(`deleted ${id}\n`);
    });
}
