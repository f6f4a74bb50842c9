import type { Context } from '../context.js';
import { InputError, NotFoundError } from '../errors.js';
import { checkId } from '../ids.js';
import type { DeadLetter, Entry } from '../model.js';

/** A dead letter as `dlq list --json` shows it. */
export type DeadLetterView = Omit<DeadLetter, 'format'>;

export async function listDeadLetters(ctx: Context): Promise<DeadLetterView[]> {
  return (await ctx.store.listDlq()).map(({ format: _f, ...d }) => d);
}

/** Queues a dead letter again with its attempts reset; answers the entry queued (`dlq retry --json`). */
export async function retryDeadLetter(ctx: Context, id: string): Promise<Entry> {
  checkId(id, 'entry id');
  const d = await ctx.store.takeDlq(id);
  if (!d) throw new NotFoundError(`unknown entry id '${id}' (not in the dead-letter queue)`);
  const { dead_at: _a, log_tail: _t, last_error: _e, last_exit_code: _c, ...entry } = d;
  const e: Entry = { ...entry, status: 'queued', attempt: 1, not_before: null, source: 'dlq-retry' };
  if (!(await ctx.store.enqueue(e))) throw new InputError(`entry '${id}' is already queued`);
  return e;
}

/** Deletes every dead letter (`dlq purge --json`). */
export async function purgeDeadLetters(ctx: Context): Promise<{ purged: number }> {
  let purged = 0;
  for (const d of await ctx.store.listDlq()) if (await ctx.store.takeDlq(d.entry_id)) purged++;
  return { purged };
}
