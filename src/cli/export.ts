import type { Command } from 'commander';
import * as fs from 'node:fs';
import { InputError } from '../errors.js';
import { writeAtomic } from '../store/atomic.js';
import { exportState, exportSummary, importState, parseDump } from '../app/transfer.js';
import { globals, openContext, printJson } from './common.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write schedules, queue, history and dead letters as one JSON document (to move between stores)')
    .option('--output <file>', 'write there (atomically) instead of stdout')
    .action(async (opts, cmd: Command) => {
      const ctx = await openContext(cmd, 'full', 'existing');
      const dump = await exportState(ctx);
      const text = JSON.stringify(dump, null, 2) + '\n';
      if (!opts.output) {
        process.stdout.write(text);
        return;
      }
      writeAtomic(opts.output, text);
      const summary = exportSummary(dump, opts.output);
      if (globals(cmd).json) printJson(summary);
      else
        process.stderr.write(
          `exported ${summary.schedules} schedules, ${summary.queued} queued, ${summary.executions} executions, ${summary.dlq} dead letters to ${opts.output}\n`,
        );
    });
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('load a document written by export into this store (all or nothing)')
    .argument('<file>', "an export, or '-' for stdin")
    .action(async (file: string, _opts, cmd: Command) => {
      let text: string;
      try {
        text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const dump = parseDump(text, file === '-' ? 'stdin' : file);
      const ctx = await openContext(cmd);
      const res = await importState(ctx, dump);
      if (globals(cmd).json) printJson(res);
      else {
        process.stdout.write(
          `imported ${res.schedules} schedules, ${res.queued} queued, ${res.executions} executions` +
            `${res.executions_present ? ` (${res.executions_present} already present)` : ''}, ${res.dlq} dead letters, ${res.breakers} breakers\n`,
        );
      }
    });
}
