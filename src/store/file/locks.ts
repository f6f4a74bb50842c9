import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunError } from '../../errors.js';
import { listNames } from '../atomic.js';
import { reportProblem } from '../policy.js';
import type { FileHome } from './home.js';

/** proper-lockfile's staleness: a holder refreshes its lock's mtime every 2 s. */
const LOCK_STALE_MS = 10_000;

/**
 * locks/<name>.lock, proper-lockfile's directories. They guard
 * read-modify-write; they are not what makes runs exactly-once (a stale
 * takeover can admit two holders), renames are.
 */
export async function withLock<T>(h: FileHome, name: string, fn: () => T | Promise<T>): Promise<T> {
  const target = path.join(h.dir('locks'), name);
  clearBogusLock(h, `${target}.lock`);
  let release: (() => Promise<void>) | undefined;
  // Loaded on first use: most commands never lock, and start-up time matters from crontab.
  const lockfile = require('proper-lockfile') as typeof import('proper-lockfile');
  try {
    release = await lockfile.lock(target, {
      realpath: false,
      lockfilePath: `${target}.lock`,
      stale: LOCK_STALE_MS,
      update: 2_000,
      retries: { retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 200, randomize: true },
      onCompromised: () => {
        /* the write below is atomic either way; a takeover only risks a lost update */
      },
    });
  } catch (err) {
    throw new RunError(`could not lock ${name}: ${(err as Error).message}`);
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * proper-lockfile takes over a lock whose mtime is older than `stale`, but
 * waits out one dated in the future (38 s, then fails): a holder refreshes
 * its mtime every 2 s, so one ahead of the real clock by more than `stale`
 * has no holder and is removed. A lock that is not a directory is not
 * proper-lockfile's and is set aside.
 */
function clearBogusLock(h: FileHome, lock: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(lock);
  } catch {
    return;
  }
  if (!st.isDirectory()) {
    h.quarantine(lock, "a lock that is not a directory (not proper-lockfile's)");
    return;
  }
  if (st.mtimeMs - Date.now() <= LOCK_STALE_MS) return;
  try {
    fs.rmdirSync(lock);
    reportProblem(
      h.problems,
      path.relative(h.home, lock),
      `was dated in the future (${st.mtime.toISOString()}) and had no holder; removed`,
      null,
    );
  } catch {
    /* taken or removed meanwhile: proper-lockfile decides */
  }
}

/** Locks untouched for a minute (by the clock in use), or dated in the future by the real clock (no holder keeps that). */
export function staleLocks(dir: string, now: number, realNow: number): string[] {
  const out: string[] = [];
  for (const n of listNames(dir)) {
    if (!n.endsWith('.lock')) continue;
    try {
      const mtime = fs.lstatSync(path.join(dir, n)).mtime;
      const name = n.replace(/\.lock$/, '');
      if (mtime.getTime() - realNow > LOCK_STALE_MS) out.push(`${name} (dated in the future, ${mtime.toISOString()})`);
      else if (now - mtime.getTime() > 60_000) out.push(name);
    } catch {
      /* released meanwhile */
    }
  }
  return out;
}
