import type { Command } from 'commander';
import * as fs from 'node:fs';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { globals, openContext, printJson } from './common.js';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description('print the captured output of one execution')
    .argument('<execution-id>', 'from history')
    .action((id: string, _opts, cmd: Command) => {
      checkId(id, 'execution id');
      const ctx = openContext(cmd);
      const x = ctx.store.getExecution(id);
      if (!x) throw new InputError(`unknown execution id '${id}'`);
      const text = x.log && fs.existsSync(x.log) ? fs.readFileSync(x.log, 'utf8') : '';
      if (globals(cmd).json) printJson({ execution_id: id, task_id: x.task_id, status: x.status, output: text });
      else process.stdout.write(text);
    });
}
