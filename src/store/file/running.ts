import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Entry } from '../../model.js';
import { exists, listNames, readText, renameIfPresent, rmQuiet, writeAtomic, writeJsonAtomic } from '../atomic.js';
import { groupOutcome } from '../policy.js';
import type { RunningRecord, RunningStore } from '../roles.js';
import type { FileHome } from './home.js';
import type { FileQueue } from './queue.js';

/**
 * running/<entry_id>~<owner>.json (claimed by rename from queue/),
 * outcomes/<entry_id>.json (a run group member's final status) and
 * cancel/<entry_id> (a request the owning dispatcher acts on).
 */
export function fileRunning(
  h: FileHome,
  queue: FileQueue,
): RunningStore & { groupResult(entryId: string): string | null; entryIsLive(entryId: string, exceptOwner?: string): boolean } {
  const listRunning = () => listFileRunning(h);

  const releaseRunning = (entryId: string, owner: string): Promise<void> =>
    // Off the main thread: an unlink waits behind the history journal's fdatasync.
    new Promise((resolve) => fs.unlink(h.runningPath(entryId, owner), () => resolve()));

  return {
    listRunning,
    releaseRunning,

    /** The owner of every running entry, from file names alone. */
    runningOwners(): string[] {
      return listNames(h.dir('running')).map((n) => /~(.+)\.json$/.exec(n)?.[1] ?? '');
    },

    /** Moves a running entry to a new owner (crash recovery); only one recoverer wins. */
    takeOver(rec: RunningRecord, newOwner: string): boolean {
      try {
        if (h.notOurs(rec.file, fs.lstatSync(rec.file).uid)) return false;
      } catch {
        return false;
      }
      return renameIfPresent(rec.file, h.runningPath(rec.entry.entry_id, newOwner));
    },

    /** True if the entry is anywhere past the given state: queued, running, dead-lettered. */
    entryIsLive(entryId: string, exceptOwner?: string): boolean {
      if (queue.findQueued(entryId)) return true;
      if (listNames(h.dir('running')).some((n) => n.startsWith(`${entryId}~`) && n !== `${entryId}~${exceptOwner}.json`))
        return true;
      return exists(h.dlqPath(entryId));
    },

    /** Any queued or running entry of this task (overlap: skip). */
    hasLiveEntryFor(taskId: string): boolean {
      if (queue.listQueued().some((e) => e.task_id === taskId)) return true;
      return listRunning().some((r) => r.entry.task_id === taskId);
    },

    /** Records the final outcome of an entry that belongs to a run group, for its downstream entries. */
    settleGroup(e: Entry, status: string, retrying: boolean): void {
      const outcome = groupOutcome(e, status, retrying);
      if (outcome) writeJsonAtomic(path.join(h.dir('outcomes'), `${e.entry_id}.json`), outcome);
    },

    groupResult: (entryId) => groupResult(h, entryId),

    requestCancel(entryId: string): void {
      writeAtomic(path.join(h.dir('cancel'), entryId), new Date().toISOString());
    },

    /** Entry ids with a pending cancel request (one directory read for all). */
    cancelRequests(): string[] {
      return listNames(h.dir('cancel'));
    },

    clearCancel(entryId: string): void {
      rmQuiet(path.join(h.dir('cancel'), entryId));
    },
  };
}

function listFileRunning(h: FileHome): RunningRecord[] {
  const out: RunningRecord[] = [];
  for (const name of listNames(h.dir('running'))) {
    const file = path.join(h.dir('running'), name);
    const m = /^(.+)~(.+)\.json$/.exec(name);
    if (!m) {
      h.quarantine(file, 'not a running entry file');
      continue;
    }
    const e = h.readJson<Entry>(file, h.checkEntry(file));
    if (e) out.push({ entry: e, owner: m[2], file });
  }
  return out;
}

/** The final outcome of an upstream entry, or null while it is still to run. */
function groupResult(h: FileHome, entryId: string): string | null {
  const text = readText(path.join(h.dir('outcomes'), `${entryId}.json`));
  if (text === null) return null;
  try {
    return JSON.parse(text).status ?? null;
  } catch {
    return 'failed';
  }
}
