import * as fs from 'node:fs';
import * as path from 'node:path';
import { messageOf } from '../../errors.js';
import type { Execution } from '../../model.js';
import { tokenAlive } from '../../run/proc.js';
import { APPEND_FLAGS, READ_FLAGS, fsyncDir, listNames, readBytes, unlinkFile, writeAll, writeAtomic } from '../atomic.js';
import { logPathIn, reportProblem } from '../policy.js';
import type { PruneCount, PruneRequest } from '../roles.js';
import { compactJournals } from './fold.js';
import { newestFirst } from './history.js';
import type { FileHome } from './home.js';
import { withLock } from './locks.js';
import { readPrunedTally, writePrunedTally } from './pruned-tally.js';
import { mergeTallies, tallyOf, type PrunedTally } from '../tally.js';

/** One line of a history or event file: its bytes (newline included) and its text without the newline. */
interface Line {
  bytes: Buffer;
  text: string;
}

interface HistoryFile {
  file: string;
  archive: boolean;
  lines: Line[];
  tail: Buffer;
  /** The file as read: a fold that took the lock over meanwhile shows as a change. */
  ino: number;
  size: number;
}

/**
 * Long work under a lock must let the event loop run: proper-lockfile
 * refreshes the lock from a timer, and a lock left unrefreshed for 10 s is
 * taken over by the next fold, whose appends a rewrite would then drop.
 */
function breather(): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < 200) return;
    await new Promise((resolve) => setImmediate(resolve));
    last = Date.now();
  };
}

type Freed = Omit<PruneCount, 'events'>;

/**
 * Retention on the file store. Only archives are rewritten: a live
 * dispatcher appends to its journal without a lock, so journals are left
 * alone, after the finished ones have been folded into the archives.
 */
export async function pruneFiles(h: FileHome, o: PruneRequest): Promise<PruneCount> {
  for (const why of await compactJournals(h, tokenAlive, o.me, o.nowIso)) reportProblem(h.problems, 'history', why, null);
  // The fold's own lock: no fold appends to an archive while we rewrite it.
  const history = await withLock(h, 'history-archive', () => pruneArchives(h, o));
  const events = await pruneEvents(h, o.cutoffMs);
  return { ...history, events: events.lines, bytes: history.bytes + events.bytes };
}

async function pruneArchives(h: FileHome, o: PruneRequest): Promise<Freed> {
  const breathe = breather();
  const files = readHistory(h);
  const kept = readPrunedTally(h);
  const pending = new Set(kept.pending);
  const expired = await expiredRecords(files, o, pending, breathe);
  if (!expired.size) return { executions: 0, logs: 0, bytes: 0 };
  countPruned(h, kept, pending, expired);
  // Logs first: a crash in between leaves records without output, which the next prune removes,
  // never a log that no record names.
  const logs = await removeLogs(h, await idsLeavingHistory(files, expired, breathe), breathe);
  let bytes = logs.bytes;
  for (const f of files) {
    await breathe();
    if (f.archive) bytes += rewriteArchive(h, f, expired);
  }
  fsyncDir(h.dir('history'));
  return { executions: expired.size, logs: logs.count, bytes };
}

/**
 * Every history file. A journal renamed by a fold claiming it (outside the
 * archive lock) while we read would hide its records: then all is read again.
 */
function readHistory(h: FileHome): HistoryFile[] {
  for (let attempt = 0; ; attempt++) {
    const out: HistoryFile[] = [];
    let vanished = false;
    for (const name of listNames(h.dir('history')).filter((n) => n.endsWith('.jsonl'))) {
      const file = path.join(h.dir('history'), name);
      const data = readQuietly(h, file);
      if (data === null) vanished = true;
      else if (data !== undefined)
        out.push({ file, archive: name.startsWith('archive-'), ...splitLines(data), ...identity(file, data) });
    }
    if (!vanished || attempt >= 20) return out;
  }
}

/** The file's bytes; null if it is gone, undefined if it cannot be read (reported, left alone). */
function readQuietly(h: FileHome, file: string): Buffer | null | undefined {
  try {
    return readBytes(file);
  } catch (err) {
    reportProblem(h.problems, path.relative(h.home, file), `not pruned: ${messageOf(err)}`, null);
    return undefined;
  }
}

function splitLines(data: Buffer): { lines: Line[]; tail: Buffer } {
  const lines: Line[] = [];
  let at = 0;
  for (let nl = data.indexOf(0x0a, at); nl >= 0; nl = data.indexOf(0x0a, at)) {
    lines.push({ bytes: data.subarray(at, nl + 1), text: data.toString('utf8', at, nl) });
    at = nl + 1;
  }
  return { lines, tail: data.subarray(at) };
}

function identity(file: string, data: Buffer): { ino: number; size: number } {
  try {
    return { ino: fs.lstatSync(file).ino, size: data.length };
  } catch {
    return { ino: -1, size: data.length };
  }
}

function recordOf(text: string): Execution | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v.execution_id === 'string' && typeof v.task_id === 'string' ? v : null;
  } catch {
    return null;
  }
}

/**
 * The lines (as text: byte-identical copies are one record) of the records
 * to remove: finished before the cutoff, not among the `keep` newest of
 * their task (counted over all history, journals included), and held only
 * by archives. A record we cannot date is kept.
 */
async function expiredRecords(
  files: HistoryFile[],
  o: PruneRequest,
  pending: Set<string>,
  breathe: () => Promise<void>,
): Promise<Set<string>> {
  const records = new Map<string, { x: Execution; text: string; archivedOnly: boolean }>();
  for (const f of files) {
    for (const { text } of f.lines) {
      await breathe();
      const seen = records.get(text);
      const x = seen?.x ?? recordOf(text);
      if (x) records.set(text, { x, text, archivedOnly: (seen?.archivedOnly ?? true) && f.archive });
    }
  }
  const byTask = new Map<string, { x: Execution; text: string; archivedOnly: boolean }[]>();
  for (const r of records.values()) {
    const list = byTask.get(r.x.task_id);
    if (list) list.push(r);
    else byTask.set(r.x.task_id, [r]);
  }
  const out = new Set<string>();
  for (const list of byTask.values()) {
    list.sort((a, b) => newestFirst(a.x, b.x));
    for (const r of list.slice(o.keep)) if (r.archivedOnly && Date.parse(r.x.finished_at) < o.cutoffMs) out.add(r.text);
    // Counted already by a prune a crash cut short: removed now, whatever the cutoff.
    for (const r of list) if (r.archivedOnly && pending.has(r.x.execution_id)) out.add(r.text);
  }
  return out;
}

/**
 * Adds what is about to go to the kept tally, before anything goes (so the
 * metrics' counters never go down), with the ids as `pending` (so nothing is
 * counted twice: see store/file/pruned-tally.ts). Records a crashed prune
 * already counted are not added again.
 */
function countPruned(h: FileHome, kept: PrunedTally, pending: Set<string>, expired: Set<string>): void {
  const fresh = new Map<string, Execution>();
  const ids: string[] = [];
  for (const text of expired) {
    const x = recordOf(text)!;
    ids.push(x.execution_id);
    if (!pending.has(x.execution_id) && !fresh.has(x.execution_id)) fresh.set(x.execution_id, x);
  }
  const total = mergeTallies(kept, tallyOf(fresh.values()));
  writePrunedTally(h, { format: 1, ...total, pending: [...new Set(ids)] });
}

/** Executions whose every record goes: their logs go with them (a kept second record of one keeps it). */
async function idsLeavingHistory(files: HistoryFile[], expired: Set<string>, breathe: () => Promise<void>): Promise<Set<string>> {
  const leaving = new Set<string>();
  const staying = new Set<string>();
  for (const f of files) {
    for (const { text } of f.lines) {
      await breathe();
      const id = recordOf(text)?.execution_id;
      if (id) (expired.has(text) ? leaving : staying).add(id);
    }
  }
  for (const id of staying) leaving.delete(id);
  return leaving;
}

/** An execution id as a file name: nothing that could name a path outside logs/. */
const LOG_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

async function removeLogs(
  h: FileHome,
  ids: Set<string>,
  breathe: () => Promise<void>,
): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const id of ids) {
    await breathe();
    if (!LOG_NAME.test(id)) continue;
    const size = unlinkFile(logPathIn(h.home, id));
    if (size === null) continue;
    count++;
    bytes += size;
  }
  if (count) fsyncDir(h.dir('logs'));
  return { count, bytes };
}

/**
 * The archive without the expired records, written to a temp file, synced
 * and renamed over it (a crash leaves the old archive or the new one);
 * removed when nothing is left. Lines that are not records, and a torn
 * tail, stay as they are. Returns the bytes freed.
 */
function rewriteArchive(h: FileHome, f: HistoryFile, expired: Set<string>): number {
  const kept = f.lines.filter((l) => !expired.has(l.text));
  if (kept.length === f.lines.length) return 0;
  const since = appendedSince(h, f);
  if (since === null) return 0;
  const data = Buffer.concat([...kept.map((l) => l.bytes), f.tail, since]);
  const before = f.lines.reduce((n, l) => n + l.bytes.length, f.tail.length);
  if (data.length === 0) fs.unlinkSync(f.file);
  else writeAtomic(f.file, data);
  return before - (data.length - since.length);
}

/**
 * What reached the archive after we read it (only a fold that took an
 * unrefreshed lock over could append), to keep in the rewrite; null when it
 * was replaced or shrunk: left for the next prune (its records stay counted
 * once: they are pending).
 */
function appendedSince(h: FileHome, f: HistoryFile): Buffer | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(f.file);
  } catch {
    return null;
  }
  if (st.ino !== f.ino || st.size < f.size) {
    reportProblem(h.problems, path.relative(h.home, f.file), 'changed while prune read it: not pruned this time', null);
    return null;
  }
  if (st.size === f.size) return Buffer.alloc(0);
  const fd = fs.openSync(f.file, READ_FLAGS);
  try {
    const buf = Buffer.alloc(st.size - f.size);
    return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, f.size));
  } finally {
    fs.closeSync(fd);
  }
}

/** Event lines older than the cutoff; lines without a readable time stay. */
async function pruneEvents(h: FileHome, cutoffMs: number): Promise<{ lines: number; bytes: number }> {
  const file = path.join(h.dir('state'), 'events.jsonl');
  let fd: number;
  try {
    fd = fs.openSync(file, READ_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: 0, bytes: 0 };
    throw err;
  }
  try {
    const read = fs.readFileSync(fd);
    const { lines, tail } = splitLines(read);
    const kept = lines.filter((l) => !(eventTime(l.text) < cutoffMs));
    if (kept.length === lines.length) return { lines: 0, bytes: 0 };
    const data = Buffer.concat(kept.map((l) => l.bytes));
    writeAtomic(file, data);
    // A line being appended as we read (the tail) is copied whole, from where it starts.
    await carryOver(fd, read.length - tail.length, file);
    return { lines: lines.length - kept.length, bytes: read.length - tail.length - data.length };
  } finally {
    fs.closeSync(fd);
  }
}

function eventTime(text: string): number {
  try {
    return Date.parse(JSON.parse(text).at);
  } catch {
    return NaN;
  }
}

/**
 * `trigger` and the dispatcher append events without a lock: whatever
 * reached the old file after we read it (an append opened before our
 * rename) is copied to the new one, now and once more a moment later.
 */
async function carryOver(oldFd: number, from: number, file: string): Promise<void> {
  let at = from;
  for (const pause of [0, 100]) {
    await new Promise((resolve) => setTimeout(resolve, pause));
    const end = fs.fstatSync(oldFd).size;
    if (end <= at) continue;
    const buf = Buffer.alloc(end - at);
    const n = fs.readSync(oldFd, buf, 0, buf.length, at);
    const out = fs.openSync(file, APPEND_FLAGS, 0o600);
    try {
      writeAll(out, buf.subarray(0, n));
    } finally {
      fs.closeSync(out);
    }
    at += n;
  }
}
