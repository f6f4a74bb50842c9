import * as path from 'node:path';
import { checkId, ID_PATTERN } from '../../ids.js';
import { listNames, writeJsonAtomic } from '../atomic.js';
import { breakerProblem } from '../check.js';
import { changeBreaker } from '../policy.js';
import type { BreakerRecord, BreakerStore } from '../roles.js';
import type { FileHome } from './home.js';
import { withLock } from './locks.js';

/** breakers/<name>.json, changed under locks/breaker-<name>. */
export function fileBreakers(h: FileHome): BreakerStore {
  const breakerPath = (name: string) => path.join(h.dir('breakers'), `${checkId(name, 'circuit breaker name')}.json`);
  const readBreaker = (name: string): BreakerRecord | null => h.readJson<BreakerRecord>(breakerPath(name), breakerProblem);
  return {
    readBreaker,

    listBreakers(): BreakerRecord[] {
      const out: BreakerRecord[] = [];
      for (const name of listNames(h.dir('breakers')).sort()) {
        // Not a name a breaker can have: someone else's file, set aside like any foreign file.
        if (!name.endsWith('.json') || !ID_PATTERN.test(name.slice(0, -'.json'.length))) {
          h.quarantine(path.join(h.dir('breakers'), name), 'not a breaker file (expected <breaker-name>.json)');
          continue;
        }
        const b = readBreaker(name.slice(0, -'.json'.length));
        if (b) out.push(b);
      }
      return out;
    },

    async updateBreaker(name: string, change: (b: BreakerRecord) => BreakerRecord | undefined): Promise<BreakerRecord> {
      return withLock(h, `breaker-${name}`, () => {
        const { value, write } = changeBreaker(name, readBreaker(name), change);
        if (write) writeJsonAtomic(breakerPath(name), value);
        return value;
      });
    },
  };
}
