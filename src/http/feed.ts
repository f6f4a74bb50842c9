import { queueStatus, type StatusRow } from '../app/status.js';
import type { Context } from '../context.js';
import { printable } from '../text.js';
import { isoInZone } from '../time.js';

/** One change of the queue, as `GET /api/v1/stream` sends it. */
export type FeedEvent =
  | { type: 'queued'; data: { entry_id: string; task_id: string; at: string } }
  | { type: 'started'; data: { entry_id: string; task_id: string; execution_id: string | null; at: string } }
  | { type: 'finished'; data: { entry_id: string; task_id: string; execution_id: string; status: string; at: string } };

export interface Feed {
  /** Calls `listener` with every change from now on; returns the unsubscribe. */
  subscribe(listener: (ev: FeedEvent) => void): () => void;
  /** Looks again at once (a write this server made, a wake-up from the store). */
  poke(): void;
  close(): void;
}

interface Seen {
  task_id: string;
  status: StatusRow['status'];
  execution_id: string | null;
}

const POLL_MS = 500;
const say = (message: string) => process.stderr.write(`conductor: serve: ${printable(message)}\n`);
/** Ticks to keep looking for the record of an entry that left the queue (a retry re-queues it). */
const FINISH_PATIENCE = 20;

/**
 * The queue's changes, found by comparing what it holds now with what it held: any process on
 * any host may queue, start or finish an entry, so the store is the only witness. It is read only
 * while someone listens, twice a second and at once after a write made here.
 */
export function createFeed(ctx: Context, pollMs = POLL_MS): Feed {
  const listeners = new Set<(ev: FeedEvent) => void>();
  let seen: Map<string, Seen> | null = null;
  let leaving = new Map<string, Seen & { tries: number }>();
  let timer: NodeJS.Timeout | null = null;
  let busy = false;
  let again = false;

  const emit = (ev: FeedEvent) => {
    for (const l of listeners) l(ev);
  };

  async function look(): Promise<void> {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await compare();
      } while (again);
    } catch (err) {
      say(`the stream could not read the queue: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  }

  async function compare(): Promise<void> {
    const { rows } = await queueStatus(ctx, { starvationMs: 30 * 60_000, withPaused: false });
    const now = new Map(
      rows.map((r) => [r.entry_id, { task_id: r.task_id, status: r.status, execution_id: r.execution_id ?? null }]),
    );
    if (seen) {
      const at = isoInZone(ctx.clock());
      for (const [id, cur] of now) announceArrival(id, cur, seen.get(id), at);
      for (const [id, was] of seen) if (!now.has(id)) leaving.set(id, { ...was, tries: 0 });
      for (const id of now.keys()) leaving.delete(id);
    }
    seen = now;
    if (leaving.size) await announceFinished();
  }

  function announceArrival(id: string, cur: Seen, was: Seen | undefined, at: string): void {
    if (!was && cur.status === 'queued') emit({ type: 'queued', data: { entry_id: id, task_id: cur.task_id, at } });
    if (cur.status === 'running' && was?.status !== 'running')
      emit({ type: 'started', data: { entry_id: id, task_id: cur.task_id, execution_id: cur.execution_id, at } });
  }

  async function announceFinished(): Promise<void> {
    const recent = await ctx.store.listExecutions({ limit: 200 });
    const next = new Map<string, Seen & { tries: number }>();
    for (const [id, was] of leaving) {
      const x = recent.find((r) => r.entry_id === id);
      if (x) {
        const data = { entry_id: id, task_id: x.task_id, execution_id: x.execution_id, status: x.status, at: x.finished_at };
        emit({ type: 'finished', data });
      } else if (was.tries < FINISH_PATIENCE) next.set(id, { ...was, tries: was.tries + 1 });
    }
    leaving = next;
  }

  // What any process queues is said at once where the store can tell (the daemon's own watch);
  // starts and ends are found by the poll.
  let unwatch: Promise<() => void> | null = null;
  const start = () => {
    if (timer) return;
    void look();
    timer = setInterval(() => void look(), pollMs);
    unwatch = Promise.resolve(ctx.store.watchQueue?.(() => void look(), say) ?? (() => undefined));
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
    seen = null;
    leaving = new Map();
    void unwatch?.then((off) => off());
    unwatch = null;
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      start();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    poke() {
      if (timer) void look();
    },
    close: stop,
  };
}
