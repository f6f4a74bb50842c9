import * as path from 'node:path';
import { checkId, ID_PATTERN } from '../../ids.js';
import { createExclusive, fsyncDir, listNames, unlinkFile } from '../atomic.js';
import { hookProblem, tokenProblem } from '../check.js';
import { accessOver, type NamedRecords } from '../named-records.js';
import type { AccessStore, HookRecord, TokenRecord } from '../roles.js';
import type { FileHome } from './home.js';

/**
 * One JSON file per named record, mode 0600 (a hook's secret is in it),
 * created exclusively and removed by unlink, each made durable before the
 * caller answers: a revoked token stays revoked after a crash. Read like
 * every file of the home: a link, a foreign name or a bad record is set aside.
 */
function recordFolder<T extends { name: string }>(
  h: FileHome,
  folder: string,
  what: string,
  problem: (v: unknown, key: string, keyName: string) => string | null,
): NamedRecords<T> {
  const dir = h.dir(folder);
  const fileOf = (name: string) => path.join(dir, `${checkId(name, `${what} name`)}.json`);
  const readFile = (file: string) => h.readJson<T>(file, (v) => problem(v, path.basename(file, '.json'), 'file name'));
  return {
    list(): T[] {
      const out: T[] = [];
      for (const n of listNames(dir).sort()) {
        const file = path.join(dir, n);
        if (!n.endsWith('.json') || !ID_PATTERN.test(n.slice(0, -'.json'.length))) {
          h.quarantine(file, `not a ${what} file (expected <${what}-name>.json)`);
          continue;
        }
        const r = readFile(file);
        if (r) out.push(r);
      }
      return out;
    },
    read: (name) => readFile(fileOf(name)),
    create(r): boolean {
      if (!createExclusive(fileOf(r.name), JSON.stringify(r, null, 2) + '\n')) return false;
      fsyncDir(dir);
      return true;
    },
    remove(name): boolean {
      if (unlinkFile(fileOf(name)) === null) return false;
      fsyncDir(dir);
      return true;
    },
  };
}

/** access/tokens/<name>.json and access/hooks/<name>.json. */
export function fileAccess(h: FileHome): AccessStore {
  const tokens = recordFolder<TokenRecord>(h, 'access/tokens', 'token', tokenProblem);
  const hooks = recordFolder<HookRecord>(h, 'access/hooks', 'hook', hookProblem);
  return accessOver(tokens, hooks);
}
