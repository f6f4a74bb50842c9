import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { outputField } from '../transfer.js';
import { globals, openContext, printJson } from './common.js';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description('print the captured output of one execution')
    .argument('<execution-id>', 'from history')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id, 'execution id');
      const ctx = await openContext(cmd);
      const x = await ctx.store.getExecution(id);
      if (!x) throw new InputError(`unknown execution id '${id}'`);
      const bytes = await ctx.store.readLog(x);
      // The bytes as captured: a handler's output need not be UTF-8 (JSON says so by output_encoding).
      if (globals(cmd).json) printJson({ execution_id: id, task_id: x.task_id, status: x.status, ...outputField(bytes) });
      else process.stdout.write(bytes);
    });
}
