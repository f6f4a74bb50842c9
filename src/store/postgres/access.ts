import { checkId } from '../../ids.js';
import { hookProblem, tokenProblem } from '../check.js';
import { accessOver, type NamedRecords } from '../named-records.js';
import type { AccessStore, HookRecord, TokenRecord } from '../roles.js';
import type { PgSession } from './session.js';

/** One row per named record; a row that fails its check is quarantined, as every table's are. */
function recordTable<T extends { name: string }>(
  s: PgSession,
  table: 'tokens' | 'hooks',
  what: string,
  problem: (v: unknown, key: string, keyName: string) => string | null,
): NamedRecords<T> {
  const checked = async (row: { name: string; body: unknown }): Promise<T | null> => {
    const why = problem(row.body, row.name, 'row key');
    if (!why) return row.body as T;
    await s.quarantine(table, 'name', row.name, row.body, why);
    return null;
  };
  const nameOf = (name: string) => checkId(name, `${what} name`);
  return {
    async list(): Promise<T[]> {
      const out: T[] = [];
      for (const row of await s.q(`SELECT name, body FROM conductor.${table} ORDER BY name COLLATE "C"`)) {
        const r = await checked(row);
        if (r) out.push(r);
      }
      return out;
    },
    async read(name: string): Promise<T | null> {
      const rows = await s.q(`SELECT name, body FROM conductor.${table} WHERE name = $1`, [nameOf(name)]);
      return rows[0] ? checked(rows[0]) : null;
    },
    async create(r): Promise<boolean> {
      const sql = `INSERT INTO conductor.${table} (name, body) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`;
      return (await s.q(sql, [nameOf(r.name), JSON.stringify(r)])).length > 0;
    },
    async remove(name: string): Promise<boolean> {
      return (await s.q(`DELETE FROM conductor.${table} WHERE name = $1 RETURNING 1`, [nameOf(name)])).length > 0;
    },
  };
}

/** conductor.tokens and conductor.hooks (migration 004). */
export function pgAccess(s: PgSession): AccessStore {
  const tokens = recordTable<TokenRecord>(s, 'tokens', 'token', tokenProblem);
  const hooks = recordTable<HookRecord>(s, 'hooks', 'hook', hookProblem);
  return accessOver(tokens, hooks);
}
