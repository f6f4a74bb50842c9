import type { Context } from '../context.js';
import { FORMAT } from '../model.js';
import { isoMsInZone } from '../time.js';

interface Blocked {
  reason: string;
  since: string;
}

/**
 * Why waiting entries wait, for `status`: kept in memory each round and written at most once a
 * second (and at the end), since with thousands of entries rewriting it every round would cost
 * more than the runs. `since` survives passes (read back at load) so starvation reservation
 * counts from when an entry first waited, not from when this pass began.
 */
export class BlockedState {
  private since = new Map<string, number>();
  private reasons: Record<string, Blocked> = {};
  private rest: string | null = null;
  private lastWrite = 0;
  private lastJson = '';
  private constructor(private ctx: Context) {}
  static async load(ctx: Context): Promise<BlockedState> {
    const b = new BlockedState(ctx);
    const prev = await ctx.store.readState<{ entries?: Record<string, Blocked> }>('blocked');
    for (const [id, r] of Object.entries(prev?.entries ?? {})) b.since.set(id, Date.parse(r.since));
    return b;
  }
  static readonly MAX_REASONS = 2000;
  private kept = 0;
  beginRound(): void {
    this.reasons = {};
    this.rest = null;
    this.kept = 0;
  }
  /** Records a reason; returns since when the entry has been blocked. */
  block(entryId: string, reason: string, now: number): number {
    const since = this.since.get(entryId) ?? now;
    this.since.set(entryId, since);
    // Past a few thousand, per-entry reasons cost more memory than they tell; the rest share one.
    if (this.kept < BlockedState.MAX_REASONS) {
      this.reasons[entryId] = { reason, since: isoMsInZone(since) };
      this.kept++;
    } else this.rest ??= reason;
    return since;
  }
  blockRest(reason: string): void {
    this.rest = reason;
  }
  forget(entryId: string): void {
    this.since.delete(entryId);
  }
  async endRound(now: number, idle: boolean): Promise<void> {
    if (!idle && now - this.lastWrite >= 1000) await this.flush();
  }
  async flush(): Promise<void> {
    const json = JSON.stringify({ entries: this.reasons, rest: this.rest });
    if (json === this.lastJson) return;
    await this.ctx.store.writeState('blocked', { format: FORMAT, entries: this.reasons, rest: this.rest });
    this.lastJson = json;
    // Wall time of the process (as before the split), compared with the clock's `now` in endRound.
    this.lastWrite = Date.now();
  }
  count(queued: number): number {
    return this.rest ? queued : Object.keys(this.reasons).length;
  }
}
