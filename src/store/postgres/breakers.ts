import type { PoolClient } from 'pg';
import { checkId } from '../../ids.js';
import { changeBreaker, newBreaker } from '../policy.js';
import { FORMAT } from '../../model.js';
import type { BreakerRecord, BreakerStore } from '../roles.js';
import type { PgSession } from './session.js';

/** conductor.breakers: one row per breaker, changed under its row lock. */
export function pgBreakers(s: PgSession): BreakerStore {
  return {
    async readBreaker(name: string): Promise<BreakerRecord | null> {
      const rows = await s.q('SELECT body FROM conductor.breakers WHERE name = $1', [checkId(name, 'circuit breaker name')]);
      return rows[0]?.body ?? null;
    },

    async listBreakers(): Promise<BreakerRecord[]> {
      return (await s.q('SELECT body FROM conductor.breakers ORDER BY name COLLATE "C"')).map((r) => r.body as BreakerRecord);
    },

    async updateBreaker(name: string, change: (b: BreakerRecord) => BreakerRecord | undefined): Promise<BreakerRecord> {
      checkId(name, 'circuit breaker name');
      return s.tx((c) => changeBreakerIn(c, name, change));
    },
  };
}

/** A breaker's read-modify-write under its row lock, in the caller's transaction. */
export async function changeBreakerIn(
  c: PoolClient,
  name: string,
  change: (b: BreakerRecord) => BreakerRecord | undefined,
): Promise<BreakerRecord> {
  // The row exists before it is locked, so that two first updates cannot both start from nothing.
  await c.query('INSERT INTO conductor.breakers (name, body) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    name,
    JSON.stringify(newBreaker(name, FORMAT)),
  ]);
  const cur = (await c.query('SELECT body FROM conductor.breakers WHERE name = $1 FOR UPDATE', [name])).rows[0]
    .body as BreakerRecord;
  const { value, write } = changeBreaker(name, cur, change);
  if (write) await c.query('UPDATE conductor.breakers SET body = $2 WHERE name = $1', [name, JSON.stringify(value)]);
  return value;
}
