import type { Command } from 'commander';
import { enqueue } from '../app/enqueue.js';
import { checkId } from '../ids.js';
import { parseIntIn } from '../schedule/definition.js';
import { globals, openContext, parseJsonPayload, printJson } from './common.js';

export function registerQueue(program: Command): void {
  program
    .command('queue')
    .description('queue one run of a schedule now and print its entry id')
    .argument('<id>', 'task id')
    .option('--priority <n>', 'priority of this run, 1..10')
    .option('--payload <json>', 'JSON handed to the handler as CONDUCTOR_PAYLOAD')
    .option('--with-deps', 'queue the upstream tasks too, as one run group')
    .option('--count <n>', 'queue this many runs at once (load tests, backfills); --json prints an array')
    .action(async (id: string, opts, cmd: Command) => {
      checkId(id);
      const priority = opts.priority === undefined ? undefined : parseIntIn('priority', opts.priority, 1, 10);
      const payload = parseJsonPayload(opts.payload);
      const many = opts.count !== undefined;
      const count = many ? parseIntIn('count', opts.count, 1, 1_000_000) : 1;
      const ctx = await openContext(cmd, 'light', { unknown: `unknown task id '${id}'` });
      const withDeps = Boolean(opts.withDeps);
      const { document, entries } = await enqueue(ctx, { taskId: id, priority, payload, count, many, withDeps });
      if (globals(cmd).json) printJson(document);
      else if (many) process.stdout.write(entries.map((e) => e.entry_id).join('\n') + '\n');
      else if (withDeps) process.stdout.write(entries.map((e) => `${e.entry_id} ${e.task_id}`).join('\n') + '\n');
      else process.stdout.write(`${entries[0].entry_id}\n`);
    });
}
