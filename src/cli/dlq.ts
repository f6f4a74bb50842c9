import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { globals, openContext, printJson, printTable } from './common.js';

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('the dead-letter queue: entries that exhausted their retries');
  // Without a subcommand commander would do nothing and exit 0: that is a usage error.
  dlq.action(() => {
    process.stderr.write(dlq.helpInformation());
    process.exitCode = 2;
  });
  dlq
    .command('list')
    .description('list dead letters')
    .action(async (_opts, cmd: Command) => {
      const ctx = await openContext(cmd);
      const items = (await ctx.store.listDlq()).map(({ format: _f, ...d }) => d);
      if (globals(cmd).json) {
        printJson(items);
        return;
      }
      if (items.length === 0) {
        process.stdout.write('dead-letter queue is empty\n');
        return;
      }
      printTable(['ENTRY', 'TASK', 'ATTEMPTS', 'EXIT', 'ERROR', 'DEAD SINCE'], items.map((d) => [d.entry_id, d.task_id, d.attempt, d.last_exit_code, d.last_error, d.dead_at]));
    });
  dlq
    .command('retry')
    .description('queue a dead letter again with its attempts reset')
    .argument('<entry-id>')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id, 'entry id');
      const ctx = await openContext(cmd);
      const d = await ctx.store.takeDlq(id);
      if (!d) throw new InputError(`unknown entry id '${id}' (not in the dead-letter queue)`);
      const { dead_at: _a, log_tail: _t, last_error: _e, last_exit_code: _c, ...entry } = d;
      const e = { ...entry, status: 'queued' as const, attempt: 1, not_before: null, source: 'dlq-retry' as const };
      if (!await ctx.store.enqueue(e)) throw new InputError(`entry '${id}' is already queued`);
      if (globals(cmd).json) printJson(e);
      else process.stdout.write(`${id}\n`);
    });
  dlq
    .command('purge')
    .description('delete every dead letter')
    .action(async (_opts, cmd: Command) => {
      const ctx = await openContext(cmd);
      let n = 0;
      for (const d of await ctx.store.listDlq()) if (await ctx.store.takeDlq(d.entry_id)) n++;
      if (globals(cmd).json) printJson({ purged: n });
      else process.stdout.write(`purged ${n}\n`);
    });
}
