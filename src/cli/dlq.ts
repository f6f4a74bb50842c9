import type { Command } from 'commander';
import { listDeadLetters, purgeDeadLetters, retryDeadLetter } from '../app/dlq.js';
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
      const items = await listDeadLetters(await openContext(cmd, 'full', 'existing'));
      if (globals(cmd).json) {
        printJson(items);
        return;
      }
      if (items.length === 0) {
        process.stdout.write('dead-letter queue is empty\n');
        return;
      }
      printTable(
        ['ENTRY', 'TASK', 'ATTEMPTS', 'EXIT', 'ERROR', 'DEAD SINCE'],
        items.map((d) => [d.entry_id, d.task_id, d.attempt, d.last_exit_code, d.last_error, d.dead_at]),
      );
    });
  dlq
    .command('retry')
    .description('queue a dead letter again with its attempts reset')
    .argument('<entry-id>')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id, 'entry id');
      const e = await retryDeadLetter(await openContext(cmd, 'full', { unknown: `unknown entry id '${id}'` }), id);
      if (globals(cmd).json) printJson(e);
      else process.stdout.write(`${id}\n`);
    });
  dlq
    .command('purge')
    .description('delete every dead letter')
    .action(async (_opts, cmd: Command) => {
      const doc = await purgeDeadLetters(await openContext(cmd, 'full', 'existing'));
      if (globals(cmd).json) printJson(doc);
      else process.stdout.write(`purged ${doc.purged}\n`);
    });
}
