import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CREATE_FLAGS, exists, FILE_MODE, fsyncDir, listNames, readText, renameIfPresent, rmQuiet } from '../atomic.js';

/**
 * All-or-nothing creation of several files of the home (the listeners of one
 * trigger, a run group, `queue --count`, the new schedules of an `apply`).
 *
 * The files are written and synced into `incoming/stage~<owner>~<rand>/`,
 * with a manifest naming where each goes; one rename to `commit~<rand>`
 * decides the batch. Before that rename nothing of it is visible and a crash
 * leaves only a stage, removed once its writer is gone; after it, the files
 * are moved into place by the writer or, if it died, by the next pass
 * (`rollForward`). A file moves by rename, so it is never in two places, and
 * never over an existing name (that copy is set aside instead).
 */

/** The folders a batch may write into: a manifest naming anything else is not ours. */
const TARGET_DIRS = new Set(['queue', 'schedules']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._~+-]*$/;

export interface BatchFile {
  dir: 'queue' | 'schedules';
  name: string;
  data: string;
}

interface ManifestItem {
  file: string;
  dir: string;
  name: string;
}

/** Writes, syncs and commits a batch; resolves once every file is in place. */
export async function commitBatch(
  home: string,
  owner: string,
  files: BatchFile[],
  setAside: (file: string, why: string) => void,
): Promise<void> {
  const incoming = path.join(home, 'incoming');
  const rand = randomBytes(6).toString('hex');
  const stage = path.join(incoming, `stage~${owner}~${rand}`);
  fs.mkdirSync(stage, { mode: 0o700 });
  try {
    await writeStage(stage, files);
  } catch (err) {
    fs.rmSync(stage, { recursive: true, force: true });
    throw err;
  }
  const committed = path.join(incoming, `commit~${rand}`);
  fs.renameSync(stage, committed);
  syncDir(incoming);
  moveIntoPlace(home, committed, setAside);
}

/**
 * Files synced together: written in one pass, then flushed by concurrent fdatasyncs, which the
 * file system commits in a few journal commits rather than one per file (2,000 entries: 1.5 s
 * one by one, a third of that together). Bounded, so that a big batch holds few descriptors.
 */
const SYNC_GROUP = 64;

async function writeStage(stage: string, files: BatchFile[]): Promise<void> {
  const manifest: ManifestItem[] = files.map((f, i) => ({ file: `f${i}`, dir: f.dir, name: f.name }));
  for (let i = 0; i < files.length; i += SYNC_GROUP) {
    await writeSynced(manifest.slice(i, i + SYNC_GROUP).map((m, j) => [path.join(stage, m.file), files[i + j].data]));
  }
  // The manifest goes last: a stage without one was never complete.
  await writeSynced([[path.join(stage, 'manifest.json'), JSON.stringify(manifest)]]);
  syncDir(stage);
}

/** Writes each file, then syncs them all at once; every descriptor is closed whatever happens. */
async function writeSynced(group: [file: string, data: string][]): Promise<void> {
  const fds: number[] = [];
  try {
    for (const [file, data] of group) {
      fds.push(fs.openSync(file, CREATE_FLAGS, FILE_MODE));
      fs.writeSync(fds[fds.length - 1], data);
    }
    // Every sync settles before any descriptor is closed (a closed number could be reused meanwhile).
    const failed = (await Promise.allSettled(fds.map(fdatasync))).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

const syncDir = fsyncDir;

/** Moves what is left of a committed batch into place, then removes it. */
function moveIntoPlace(home: string, committed: string, setAside: (file: string, why: string) => void): void {
  const manifest = readManifest(committed);
  if (manifest === 'missing') {
    // Completed by another pass meanwhile (it removes the manifest last but one), or never ours.
    if (!removeDir(committed) && exists(committed)) setAside(committed, 'a committed batch without a manifest');
    return;
  }
  if (manifest === 'bad') {
    setAside(committed, "a committed batch whose manifest is not conductor's");
    return;
  }
  for (const item of manifest) {
    const from = path.join(committed, item.file);
    const to = path.join(home, item.dir, item.name);
    // Another pass may be moving the same batch: whoever renames first wins, the other sees ENOENT.
    if (exists(to)) {
      if (exists(from)) setAside(from, `${item.dir}/${item.name} already exists; this copy from a batch was not put over it`);
      continue;
    }
    renameIfPresent(from, to);
  }
  rmQuiet(path.join(committed, 'manifest.json'));
  removeDir(committed);
}

function removeDir(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

function readManifest(dir: string): ManifestItem[] | 'missing' | 'bad' {
  let text: string | null;
  try {
    text = readText(path.join(dir, 'manifest.json'));
  } catch {
    return 'bad';
  }
  if (text === null) return 'missing';
  try {
    const items = JSON.parse(text);
    if (!Array.isArray(items)) return 'bad';
    const ok = items.every(
      (i) => i && /^f\d+$/.test(i.file) && TARGET_DIRS.has(i.dir) && typeof i.name === 'string' && NAME.test(i.name),
    );
    return ok ? (items as ManifestItem[]) : 'bad';
  } catch {
    return 'bad';
  }
}

/**
 * Start-of-pass upkeep: completes batches whose writer died after the commit
 * and removes stages whose writer died before it.
 */
export function rollForward(
  home: string,
  isAlive: (owner: string) => boolean,
  setAside: (file: string, why: string) => void,
): number {
  const incoming = path.join(home, 'incoming');
  let done = 0;
  for (const name of listNames(incoming)) {
    const dir = path.join(incoming, name);
    const [kind, owner] = name.split('~');
    // A link or a file here is not a batch of ours: moving "its" files would move what we never wrote.
    if (!fs.lstatSync(dir).isDirectory()) {
      setAside(dir, "not a batch of conductor's (not a directory; a symbolic link is never followed)");
      continue;
    }
    if (kind === 'commit') {
      moveIntoPlace(home, dir, setAside);
      done++;
    } else if (kind === 'stage' && owner && !isAlive(owner)) {
      fs.rmSync(dir, { recursive: true, force: true });
    } else if (kind !== 'stage') {
      setAside(dir, "not a batch of conductor's");
    }
  }
  return done;
}
