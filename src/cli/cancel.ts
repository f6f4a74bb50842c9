import type { Command } from 'commander';
import { cancelEntry } from '../app/cancel.js';
import { checkId } from '../ids.js';
import { globals, openContext, printJson } from './common.js';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('remove a queued entry, or stop a running one (its whole process group)')
    .argument('<entry-id>', 'from status')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id, 'entry id');
      const ctx = await openContext(cmd, 'full', { unknown: `unknown entry id '${id}'` });
      const doc = await cancelEntry(ctx, id);
      if (globals(cmd).json) printJson(doc);
      else process.stdout.write(`cancelled ${id} (${doc.cancelled})\n`);
    });
}
