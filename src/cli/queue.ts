import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { parseIntIn } from '../schedule/definition.js';
import { checkEstimates } from '../schedules.js';
import { buildRunGroup, newEntry } from '../tasks.js';
import { globals, openContext, parseJsonPayload, printJson, requireSchedule } from './common.js';

export function registerQueue(program: Command): void {
  program
    .command('queue')
    .description('queue one run of a schedule now and print its entry id')
    .argument('<id>', 'task id')
    .option('--priority <n>', 'priority of this run, 1..10')
    .option('--payload <json>', 'JSON handed to the handler as CONDUCTOR_PAYLOAD')
    .option('--with-deps', 'queue the upstream tasks too, as one run group')
    .option('--count <n>', 'queue this many runs at once (load tests, backfills)', '1')
    .action(async (id: string, opts, cmd: Command) => {
      checkId(id);
      const priority = opts.priority === undefined ? undefined : parseIntIn('priority', opts.priority, 1, 10);
      const payload = parseJsonPayload(opts.payload);
      const count = parseIntIn('count', opts.count, 1, 1_000_000);
      const ctx = await openContext(cmd, 'light');
      const s = await requireSchedule(ctx.store, await ctx.store.readSchedule(id), id);
      checkEstimates(s);
      const now = ctx.clock();
      if (count > 1) {
        if (opts.withDeps) throw new InputError('--count and --with-deps do not go together');
        const entries = Array.from({ length: count }, () => newEntry(s, ctx.clock(), { source: 'manual', priority, payload }));
        await ctx.store.enqueueAll(entries);
        const ids = entries.map((e) => e.entry_id);
        if (globals(cmd).json) printJson(entries.map((e) => ({ ...e, effective_priority: e.priority })));
        else process.stdout.write(ids.join('\n') + '\n');
        return;
      }
      const entries = opts.withDeps
        ? await buildRunGroup(ctx, s, now, { source: 'manual', priority, payload })
        : [newEntry(s, now, { source: 'manual', priority, payload })];
      await ctx.store.enqueueAll(entries);
      const root = entries[entries.length - 1];
      const view = { ...root, effective_priority: root.priority };
      if (globals(cmd).json) printJson(opts.withDeps ? { ...view, group_entries: entries.map((e) => e.entry_id) } : view);
      else if (opts.withDeps) process.stdout.write(entries.map((e) => `${e.entry_id} ${e.task_id}`).join('\n') + '\n');
      else process.stdout.write(`${root.entry_id}\n`);
    });
}
