import { checkId } from '../../ids.js';
import type { DeadLetter } from '../../model.js';
import { deadLetterProblem } from '../check.js';
import type { DeadLetterStore } from '../roles.js';
import type { PgSession } from './session.js';

export const INSERT_DEAD_LETTER = 'INSERT INTO conductor.dlq (entry_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING';

/** conductor.dlq: one row per dead letter, taken by DELETE ... RETURNING (one taker wins). */
export function pgDeadLetters(s: PgSession): DeadLetterStore {
  return {
    async toDlq(d: DeadLetter): Promise<void> {
      await s.q(INSERT_DEAD_LETTER, [d.entry_id, JSON.stringify(d)]);
    },

    async listDlq(): Promise<DeadLetter[]> {
      const out: DeadLetter[] = [];
      for (const r of await s.q('SELECT entry_id, body FROM conductor.dlq ORDER BY entry_id COLLATE "C"')) {
        const d = await s.checkedEntry<DeadLetter>('dlq', r.entry_id, r.body, deadLetterProblem);
        if (d) out.push(d);
      }
      return out;
    },

    async takeDlq(entryId: string): Promise<DeadLetter | null> {
      const rows = await s.q('DELETE FROM conductor.dlq WHERE entry_id = $1 RETURNING body', [checkId(entryId, 'entry id')]);
      return rows[0] ? s.taken<DeadLetter>('dlq', entryId, rows[0].body, deadLetterProblem) : null;
    },
  };
}
