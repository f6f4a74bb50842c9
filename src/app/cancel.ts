import type { Context } from '../context.js';
import { cancelOrphan } from '../dispatch/recover.js';
import { NotFoundError } from '../errors.js';
import { checkId } from '../ids.js';
import { selfIdentity } from '../run/proc.js';
import { endedWithoutRun } from './entries.js';

/** What `cancel --json` prints: the entry and what it was when cancelled. */
export interface CancelDocument {
  entry_id: string;
  cancelled: 'queued' | 'running';
}

/** How long a cancel waits for the owning dispatcher to record the stop. */
const STOP_WAIT_MS = 30_000;

/**
 * Removes a queued entry (recording it as cancelled), or stops a running one:
 * a running entry whose dispatcher is gone is settled here, since nobody else
 * will; a live dispatcher is asked and waited for.
 */
export async function cancelEntry(ctx: Context, id: string): Promise<CancelDocument> {
  checkId(id, 'entry id');
  const { store, clock } = ctx;
  const taken = await store.takeQueued(id);
  if (taken) {
    await store.recordExecution(endedWithoutRun(taken, 'cancelled', 'cancelled while queued', clock()));
    await store.settleGroup(taken, 'cancelled', false);
    return { entry_id: id, cancelled: 'queued' };
  }
  const rec = (await store.listRunning()).find((r) => r.entry.entry_id === id);
  if (!rec) throw new NotFoundError(`unknown entry id '${id}' (not queued or running)`);
  if (!(await store.ownerAlive(rec.owner))) {
    if (await store.takeOver(rec, selfIdentity().token)) await cancelOrphan(ctx, rec, selfIdentity());
    return { entry_id: id, cancelled: 'running' };
  }
  await store.requestCancel(id);
  await stopRecorded(ctx, id);
  return { entry_id: id, cancelled: 'running' };
}

/**
 * The owning dispatcher checks requests at least once a second. Waited for on
 * the real clock (not the context's, which a test may fix): this is a wait, not
 * a time recorded anywhere.
 */
async function stopRecorded(ctx: Context, id: string): Promise<void> {
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline) {
    if (!(await ctx.store.listRunning()).some((r) => r.entry.entry_id === id)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
