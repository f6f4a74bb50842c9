import * as fs from 'node:fs';
import * as path from 'node:path';
import { messageOf } from '../../errors.js';
import { fsyncDir, listNames, renameIfPresent, writeAll } from '../atomic.js';
import type { FileHome } from './home.js';
import { withLock } from './locks.js';
import { setAsideTail } from './quarantine.js';

/**
 * Folds the journals of dispatchers that are gone into one archive per
 * month, so that a crontab pass a minute does not leave 1,440 files a day.
 * Claim by rename (one compactor wins), then under the archive's lock
 * append, sync, read back and compare, and only then delete the journal.
 * A failed fold truncates the archive back and keeps the journal, renamed
 * `unfolded~...` for `health` and the next pass. Returns what failed.
 */
export async function compactJournals(
  h: FileHome,
  isAlive: (owner: string) => boolean,
  me: string,
  nowIso: string,
): Promise<string[]> {
  const claimed = claimFinishedJournals(h, isAlive, me);
  if (!claimed.length) return [];
  const archive = path.join(h.dir('history'), `archive-${nowIso.slice(0, 7)}.jsonl`);
  try {
    return await withLock(h, 'history-archive', () => claimed.flatMap((file) => foldJournal(h, file, archive)));
  } catch (err) {
    for (const file of claimed) keepUnfolded(h, file);
    return [`could not fold history journals into ${path.relative(h.home, archive)} (kept for the next pass): ${messageOf(err)}`];
  }
}

/** A journal its writer closed for good while it lives on (rotated~<owner>~<ms>.jsonl): anyone may fold it. */
export const ROTATED = 'rotated~';

function claimFinishedJournals(h: FileHome, isAlive: (owner: string) => boolean, me: string): string[] {
  const out: string[] = [];
  for (const name of listNames(h.dir('history'))) {
    if (!name.endsWith('.jsonl') || name.startsWith('archive-')) continue;
    const owner = historyWriter(name);
    const finished = name.startsWith(ROTATED);
    if (!finished && (!owner || owner === me || owner === 'cli' || isAlive(owner))) continue;
    const claimed = path.join(h.dir('history'), `compact~${me}~${journalBase(name)}`);
    if (renameIfPresent(path.join(h.dir('history'), name), claimed)) out.push(claimed);
  }
  return out;
}

/** One journal into the archive; [] when done, else why it was kept. */
function foldJournal(h: FileHome, file: string, archive: string): string[] {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
    let data: Buffer;
    try {
      data = fs.readFileSync(fd);
      const end = data.lastIndexOf(0x0a) + 1;
      if (end < data.length) {
        setAsideTail(h, file, data.subarray(end), end);
        fs.ftruncateSync(fd, end);
      }
    } finally {
      fs.closeSync(fd);
    }
    const end = data.lastIndexOf(0x0a) + 1;
    if (end > 0) {
      appendVerified(archive, data.subarray(0, end), (fragment, at) => setAsideTail(h, archive, fragment, at));
      fsyncDir(h.dir('history'));
    }
    fs.unlinkSync(file);
    return [];
  } catch (err) {
    keepUnfolded(h, file);
    return [
      `could not fold history journal ${path.relative(h.home, file)} into ${path.relative(h.home, archive)} (kept for the next pass): ${messageOf(err)}`,
    ];
  }
}

function keepUnfolded(h: FileHome, claimed: string): void {
  renameIfPresent(claimed, path.join(h.dir('history'), `unfolded~${journalBase(path.basename(claimed))}`));
}

/** Journals a fold has given back (disk full...), or that a crashed compactor left claimed. */
export function unfoldedJournals(h: FileHome, isAlive: (owner: string) => boolean): string[] {
  return listNames(h.dir('history')).filter(
    (n) => n.startsWith('unfolded~') || (n.startsWith('compact~') && !isAlive(n.split('~')[1])),
  );
}

/**
 * Appends whole lines to an archive (its lock held): a torn tail left by a
 * crash is set aside first so that it cannot swallow our first line; what we
 * write is synced and read back, and on any failure cut off again.
 */
function appendVerified(file: string, data: Buffer, setAside: (fragment: Buffer, at: number) => void): void {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    let size = fs.fstatSync(fd).size;
    const at = lineStart(fd, size);
    if (at < size) {
      setAside(readAt(fd, at, size - at), at);
      fs.ftruncateSync(fd, at);
      size = at;
    }
    try {
      writeAll(fd, data, size);
      fs.fdatasyncSync(fd);
      if (!readAt(fd, size, data.length).equals(data)) throw new Error(`${file} did not read back what was written`);
    } catch (err) {
      fs.ftruncateSync(fd, size);
      fs.fdatasyncSync(fd);
      throw err;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The offset just past the last newline before `size` (0 if there is none). */
function lineStart(fd: number, size: number): number {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - 65_536);
    const i = readAt(fd, start, end - start).lastIndexOf(0x0a);
    if (i >= 0) return start + i + 1;
    end = start;
  }
  return 0;
}

function readAt(fd: number, at: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, at + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** The journal's own name, without the marks of a fold in progress or given back. */
function journalBase(name: string): string {
  return name.replace(/^compact~[^~]*~/, '').replace(/^unfolded~/, '');
}

/** Who may still append to a history file: the compactor of a claimed journal, the owner of one; null for an archive. */
export function historyWriter(name: string): string | null {
  if (name.startsWith('archive-') || name.startsWith(ROTATED)) return null;
  if (name.startsWith('compact~')) return name.split('~')[1];
  return journalBase(name).slice(0, -'.jsonl'.length);
}
