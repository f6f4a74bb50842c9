import type { Client } from 'pg';
import { messageOf } from '../../errors.js';
import type { QueueChange } from '../roles.js';

/** The channel every insert into conductor.queue notifies (sql/insert_entry.sql). */
export const QUEUE_CHANNEL = 'conductor_queue';
/** Set on the connection, so that an operator (and a test) can tell it in pg_stat_activity. */
const APPLICATION_NAME = 'conductor-listen';
/** A lost connection is made again after this long, doubling on each failure up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;

/**
 * A daemon's wake-up on PostgreSQL: one connection of its own, outside the pool (a pooled client
 * would be handed back and its LISTEN lost), LISTENing on QUEUE_CHANNEL. A notification arrives
 * when the transaction that queued an entry commits, on whichever host it ran.
 *
 * It never throws. A connection that cannot be made or drops (a restart, pg_terminate_backend) is
 * said once and made again; meanwhile the daemon's tick finds new entries, and once it is back
 * `onChange` is called, for what was queued while nobody listened.
 */
export async function listenQueue(
  url: string,
  onChange: (what: QueueChange) => void,
  note: (message: string) => void,
): Promise<() => void> {
  const l = new QueueListener(url, onChange, note);
  await l.connect();
  return () => l.stop();
}

class QueueListener {
  private client: Client | null = null;
  /** Clients already given up (their 'error' and 'end' both come): each is handled once. */
  private done = new WeakSet<Client>();
  private retry: NodeJS.Timeout | null = null;
  private delay = RETRY_MIN_MS;
  private down = false;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly onChange: (what: QueueChange) => void,
    private readonly note: (message: string) => void,
  ) {}

  async connect(): Promise<void> {
    const pg = require('pg') as typeof import('pg');
    // Keep-alive: a connection cut without a word (a host gone) is found out and made again.
    const c = new pg.Client({
      connectionString: this.url,
      application_name: APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    c.on('notification', (n) => this.onChange(n.payload === 'freed' ? 'freed' : 'queued'));
    c.on('error', (err) => this.lost(c, err));
    c.on('end', () => this.lost(c, new Error('the server closed the connection')));
    try {
      await c.connect();
      await c.query(`LISTEN ${QUEUE_CHANNEL}`);
    } catch (err) {
      this.lost(c, err);
      return;
    }
    if (this.done.has(c)) return;
    if (this.stopped) return this.close(c);
    this.client = c;
    this.delay = RETRY_MIN_MS;
    if (!this.down) return;
    this.down = false;
    this.note('listening for new entries again: they start at once');
    this.onChange('queued');
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    if (this.client) this.close(this.client);
    this.client = null;
  }

  private close(c: Client): void {
    this.done.add(c);
    c.end().catch(() => undefined);
  }

  private lost(c: Client, err: unknown): void {
    if (this.done.has(c)) return;
    this.close(c);
    if (this.client === c) this.client = null;
    if (this.stopped) return;
    if (!this.down) {
      this.down = true;
      this.note(`no LISTEN connection for new entries (${messageOf(err)}): they start on the tick until it is back`);
    }
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, this.delay);
    this.retry.unref();
    this.delay = Math.min(2 * this.delay, RETRY_MAX_MS);
  }
}
