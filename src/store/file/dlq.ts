import * as path from 'node:path';
import { checkId } from '../../ids.js';
import type { DeadLetter } from '../../model.js';
import { createExclusive, listNames } from '../atomic.js';
import { deadLetterProblem } from '../check.js';
import type { DeadLetterStore } from '../roles.js';
import type { FileHome } from './home.js';

/** dlq/<entry_id>.json: one dead letter per file, taken by rename to trash/. */
export function fileDeadLetters(h: FileHome): DeadLetterStore {
  return {
    toDlq(d: DeadLetter): void {
      createExclusive(h.dlqPath(d.entry_id), JSON.stringify(d, null, 2) + '\n');
    },

    listDlq(): DeadLetter[] {
      const out: DeadLetter[] = [];
      for (const name of listNames(h.dir('dlq')).sort()) {
        const file = path.join(h.dir('dlq'), name);
        const d = h.readJson<DeadLetter>(file, h.checkEntry(file, deadLetterProblem));
        if (d) out.push(d);
      }
      return out;
    },

    /** Removes one dead letter and returns it; only one caller gets it. */
    takeDlq(entryId: string): DeadLetter | null {
      return h.take<DeadLetter>(h.dlqPath(checkId(entryId, 'entry id')), `${entryId}.dlq.json`, deadLetterProblem);
    },
  };
}
