import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunError } from '../../errors.js';
import type { Entry, QueuedRef } from '../../model.js';
import { createExclusive, listNames, renameIfPresent } from '../atomic.js';
import { entryProblem } from '../check.js';
import type { QueueStore } from '../roles.js';
import type { FileHome } from './home.js';
import { parseQueueName, queueName } from './queue-names.js';
import { watchQueueFolder } from './watch.js';

/** The queue role's own helpers, for the roles that look into queue/. */
export interface FileQueue extends QueueStore {
  findQueued(entryId: string): string | null;
  listQueued(): QueuedRef[];
  enqueue(entry: Entry): boolean;
}

/** Queue files never change once written: entries and parsed names are cached by name. */
interface QueueState {
  h: FileHome;
  queueCache: Map<string, Entry>;
  refCache: Map<string, QueuedRef>;
  /** Queue names of other users' files, left where they are and no longer listed. */
  foreign: Set<string>;
}

const queuePath = (h: FileHome, name: string) => path.join(h.dir('queue'), name);

function forget(st: QueueState, name: string): void {
  st.refCache.delete(name);
  st.queueCache.delete(name);
}

function findQueued(h: FileHome, entryId: string): string | null {
  const prefix = `${entryId}~`;
  return listNames(h.dir('queue')).find((n) => n.startsWith(prefix)) ?? null;
}

/**
 * A queue file whose name is not in our form but whose content is a valid
 * entry (placed by hand, or by an older layout) is renamed into form;
 * anything else is quarantined.
 */
function refile(h: FileHome, name: string): QueuedRef | null {
  const file = queuePath(h, name);
  if (!name.endsWith('.json')) {
    h.quarantine(file, 'not a queue entry file');
    return null;
  }
  const e = h.readJson<Entry>(file, entryProblem);
  if (!e) return null;
  const target = queueName(e);
  try {
    fs.renameSync(file, queuePath(h, target));
  } catch {
    return null; // claimed or moved meanwhile
  }
  const ref = parseQueueName(target);
  if (!ref) h.quarantine(queuePath(h, target), "a queue entry whose name cannot be put in conductor's form");
  return ref;
}

/**
 * A batch whose id is queued already, or given twice, is refused before anything is written, as
 * PostgreSQL's is: the batch's rename would set a copy aside rather than fail, since a queue file's
 * name holds more than its id. One listing of queue/ for the whole batch.
 */
function refuseTaken(h: FileHome, entries: Entry[]): void {
  const ids = new Set(listNames(h.dir('queue')).map((n) => n.split('~')[0]));
  for (const e of entries) {
    if (ids.has(e.entry_id)) throw new RunError(`entry id '${e.entry_id}' already exists`);
    ids.add(e.entry_id);
  }
}

/** Queued entries as their file names describe them; no file is opened. Names that are not ours are quarantined. */
function listQueued(st: QueueState): QueuedRef[] {
  // Only a long-lived dispatcher has a cache to prune; a one-shot command skips the bookkeeping.
  const seen = st.refCache.size > 0 ? new Set<string>() : null;
  const out: QueuedRef[] = [];
  for (const name of listNames(st.h.dir('queue'))) {
    if (st.foreign.has(name)) continue;
    seen?.add(name);
    let ref = st.refCache.get(name);
    if (!ref) {
      const parsed = parseQueueName(name) ?? refile(st.h, name);
      if (!parsed) continue;
      ref = parsed;
      st.refCache.set(name, ref);
    }
    out.push(ref);
  }
  if (seen && st.refCache.size > seen.size) {
    for (const k of st.refCache.keys()) if (!seen.has(k)) forget(st, k);
  }
  return out;
}

/** Checked before the claim, so that nothing of another user's is ever taken: its queue file and its schedule. */
function ownsRun(st: QueueState, ref: QueuedRef): boolean {
  for (const file of [queuePath(st.h, ref.name), st.h.schedulePath(ref.task_id)]) {
    let uid: number;
    try {
      uid = fs.lstatSync(file).uid;
    } catch {
      continue; // claimed by another pass, or the schedule is gone: the claim below finds out
    }
    if (st.h.notOurs(file, uid)) {
      st.foreign.add(ref.name);
      return false;
    }
  }
  return true;
}

/**
 * queue/: a spool of one file per entry, named so that listing and ranking
 * never open a file (see queue-names.ts); a claim renames it into running/,
 * so exactly one claimer wins.
 */
export function fileQueue(h: FileHome): FileQueue {
  const st: QueueState = { h, queueCache: new Map(), refCache: new Map(), foreign: new Set() };
  const { queueCache } = st;
  /** Atomic create: the entry appears whole or not at all. */
  const enqueue = (entry: Entry): boolean => createExclusive(queuePath(h, queueName(entry)), JSON.stringify(entry) + '\n');

  /**
   * Claims an entry: rename queue/ → running/. Exactly one caller can win.
   * The concurrency limit is the dispatcher's check against its last listing.
   */
  const claim = (ref: QueuedRef, owner: string): Entry | null => {
    if (h.runAs !== null && !ownsRun(st, ref)) return null;
    const to = h.runningPath(ref.entry_id, owner);
    if (!renameIfPresent(queuePath(h, ref.name), to)) return null;
    // The file's content is what it was when queued; a cached copy saves the read.
    const cached = queueCache.get(ref.name);
    forget(st, ref.name);
    return cached ?? h.readJson<Entry>(to, h.checkEntry(to));
  };

  return {
    enqueue,
    findQueued: (entryId) => findQueued(h, entryId),
    listQueued: () => listQueued(st),

    async enqueueAll(entries: Entry[]): Promise<void> {
      if (entries.length === 1) {
        if (!enqueue(entries[0])) throw new RunError(`entry id '${entries[0].entry_id}' already exists`);
        return;
      }
      if (!entries.length) return;
      refuseTaken(h, entries);
      await h.commit(entries.map((e) => ({ dir: 'queue', name: queueName(e), data: JSON.stringify(e) + '\n' })));
    },

    /** The whole entry behind a name (cached: queue files never change once written). */
    readQueued(ref: QueuedRef): Entry | null {
      let e = queueCache.get(ref.name);
      if (!e) {
        const file = queuePath(h, ref.name);
        const read = h.readJson<Entry>(file, h.checkEntry(file));
        if (!read) return null;
        e = read;
        queueCache.set(ref.name, e);
      }
      return e;
    },

    claim,

    /** A rename each: nothing to gain from a batch. The limit is the dispatcher's check. */
    claimAll(refs: QueuedRef[], owner: string): { entries: Entry[]; full: boolean } {
      const entries: Entry[] = [];
      for (const ref of refs) {
        const e = claim(ref, owner);
        if (e) entries.push(e);
      }
      return { entries, full: false };
    },

    /**
     * Takes a queued entry out of the queue (cancel, skip); exactly one of
     * take/claim wins. A caller holding the listing passes the file name and
     * saves a directory read.
     */
    takeQueued(entryId: string, name: string | null = findQueued(h, entryId)): Entry | null {
      if (!name) return null;
      forget(st, name);
      return h.take<Entry>(queuePath(h, name), `${entryId}.json`, entryProblem);
    },

    watchQueue: (onChange, note) => watchQueueFolder(h.dir('queue'), onChange, note),
  };
}
