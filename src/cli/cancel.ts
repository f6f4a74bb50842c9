import type { Command } from 'commander';
import type { Context } from '../context.js';
import { settleOrphan } from '../dispatch/recover.js';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { selfIdentity } from '../run/proc.js';
import { endedWithoutRun } from '../tasks.js';
import { globals, openContext, printJson } from './common.js';

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('remove a queued entry, or stop a running one (its whole process group)')
    .argument('<entry-id>', 'from status')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id, 'entry id');
      const ctx = await openContext(cmd);
      const what = await cancelEntry(ctx, id);
      if (globals(cmd).json) printJson({ entry_id: id, cancelled: what });
      else process.stdout.write(`cancelled ${id} (${what})\n`);
    });
}

async function cancelEntry(ctx: Context, id: string): Promise<'queued' | 'running'> {
  const { store, clock } = ctx;
  const taken = await store.takeQueued(id);
  if (taken) {
    await store.recordExecution(endedWithoutRun(taken, 'cancelled', 'cancelled while queued', clock()));
    await store.settleGroup(taken, 'cancelled', false);
    return 'queued';
  }
  const rec = (await store.listRunning()).find((r) => r.entry.entry_id === id);
  if (!rec) throw new InputError(`unknown entry id '${id}' (not queued or running)`);
  if (!(await store.ownerAlive(rec.owner))) {
    // Its dispatcher is gone: nobody else will act on the request.
    if (await store.takeOver(rec, selfIdentity().token)) {
      await settleOrphan(ctx, rec, selfIdentity(), 'cancelled', 'cancelled; its dispatcher was gone');
    }
    return 'running';
  }
  await store.requestCancel(id);
  // The owning dispatcher checks requests at least once a second; wait for it to record the stop.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (!(await store.listRunning()).some((r) => r.entry.entry_id === id)) return 'running';
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'running';
}
