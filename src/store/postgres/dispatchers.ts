import * as os from 'node:os';
import { tokenAlive, tokenIsLocal } from '../../run/proc.js';
import type { DispatcherRegistry } from '../roles.js';
import type { PgSession } from './session.js';

/** conductor.dispatchers: one row per dispatcher, its lease renewed by heartbeat. */
export function pgRegistry(s: PgSession): DispatcherRegistry {
  let renewedAt = -Infinity;

  /** Called every round of the dispatcher; renews the lease three times per lease period. */
  const heartbeat = async (owner: string): Promise<void> => {
    const now = Date.now();
    if (now - renewedAt < s.leaseMs / 3) return;
    renewedAt = now;
    await s.q(
      `INSERT INTO conductor.dispatchers (owner, host, pid, seen_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (owner) DO UPDATE SET seen_at = now()`,
      [owner, os.hostname(), process.pid],
    );
  };

  return {
    heartbeat,

    async attach(owner: string): Promise<void> {
      renewedAt = -Infinity;
      await heartbeat(owner);
    },

    /** On this host /proc is the truth; a dispatcher elsewhere lives while its lease is fresh. */
    async ownerAlive(owner: string): Promise<boolean> {
      if (tokenIsLocal(owner)) return tokenAlive(owner);
      const rows = await s.q(
        `SELECT 1 FROM conductor.dispatchers WHERE owner = $1 AND seen_at > now() - make_interval(secs => $2::double precision / 1000)`,
        [owner, s.leaseMs],
      );
      return rows.length > 0;
    },
  };
}

/** Dispatchers whose lease is live, for `health`. */
export async function liveDispatchers(s: PgSession): Promise<string> {
  const rows = await s.q<{ n: string }>(
    `SELECT count(*) AS n FROM conductor.dispatchers WHERE seen_at > now() - make_interval(secs => $1::double precision / 1000)`,
    [s.leaseMs],
  );
  return rows[0].n;
}
