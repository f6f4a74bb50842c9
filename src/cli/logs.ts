import type { Command } from 'commander';
import { executionLog } from '../app/history.js';
import { checkId } from '../ids.js';
import { globals, openContext, printJson } from './common.js';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description('print the captured output of one execution')
    .argument('<execution-id>', 'from history')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id, 'execution id');
      const { document, bytes } = await executionLog(await openContext(cmd, 'full', 'existing'), id);
      // The bytes as captured: a handler's output need not be UTF-8 (JSON says so by output_encoding).
      if (globals(cmd).json) printJson(document);
      else process.stdout.write(bytes);
    });
}
