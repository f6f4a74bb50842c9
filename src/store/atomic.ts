import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/**
 * Flags for every open of a file in the home: a symlink planted there is
 * refused (ELOOP), never followed; reads do not block on a FIFO.
 */
const C = fs.constants;
export const READ_FLAGS = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
export const APPEND_FLAGS = C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW;
export const CREATE_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;

function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function writeTemp(file: string, data: string | Buffer, mode = FILE_MODE): string {
  const tmp = tempNameFor(file);
  let fd: number;
  try {
    fd = fs.openSync(tmp, CREATE_FLAGS, mode);
  } catch (err) {
    throw asErrorOf(err, tmp, file);
  }
  try {
    // The mode asked for, whatever the umask (a textfile for another user's exporter is 0644).
    if (mode !== FILE_MODE) fs.fchmodSync(fd, mode);
    writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    rmQuiet(tmp);
    throw asErrorOf(err, tmp, file);
  }
  fs.closeSync(fd);
  return tmp;
}

/**
 * The temp file is ours, not the user's: an error met while writing it (a
 * missing folder, a full disk, no permission) names the file asked for.
 */
function asErrorOf(err: unknown, tmp: string, file: string): unknown {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (!(e instanceof Error)) return err;
  e.message = e.message.split(tmp).join(file).replace(` -> '${file}'`, '').replace(` -> '${e.dest}'`, '');
  if (e.path === tmp) e.path = file;
  return e;
}

/** write(2) until all is written: a short write (a disk filling up) throws ENOSPC instead of leaving a part. */
export function writeAll(fd: number, data: Buffer, position: number | null = null): void {
  let done = 0;
  while (done < data.length) {
    const n = fs.writeSync(fd, data, done, data.length - done, position === null ? null : position + done);
    if (n <= 0) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    done += n;
  }
}

/** Replace `file` with `data`: readers see the old or the new file, never a part. */
export function writeAtomic(file: string, data: string | Buffer, mode = FILE_MODE): void {
  const tmp = writeTemp(file, data, mode);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    rmQuiet(tmp);
    throw asErrorOf(err, tmp, file);
  }
}

/** Create `file` with `data` only if it does not exist; false if it does. */
export function createExclusive(file: string, data: string): boolean {
  const tmp = writeTemp(file, data);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw asErrorOf(err, tmp, file);
  } finally {
    rmQuiet(tmp);
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** rename(2) that answers false when the source is gone (another process moved it first). */
export function renameIfPresent(from: string, to: string): boolean {
  try {
    fs.renameSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Makes the names created or removed in a directory durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function rmQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    /* already gone */
  }
}

/** Removes a regular file (never what a link points to); its size, or null if there was none. */
export function unlinkFile(file: string): number | null {
  try {
    const st = fs.lstatSync(file);
    fs.unlinkSync(file);
    return st.isFile() ? st.size : 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Names in a directory, or none if it does not exist. Hidden names (temp files) are left out. */
export function listNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** A file's bytes; null if it does not exist. */
export function readBytes(file: string): Buffer | null {
  return readSafely(file)?.data ?? null;
}

export function readText(file: string): string | null {
  return readOwned(file)?.text ?? null;
}

/** A file's text and its owner (see readSafely). */
export function readOwned(file: string): { text: string; uid: number } | null {
  const r = readSafely(file);
  return r && { text: r.data.toString('utf8'), uid: r.uid };
}

/**
 * A file's bytes and its owner, read through one descriptor that follows no
 * symlink (ELOOP) and only from a regular file (ENOTREG otherwise); null if
 * it does not exist.
 */
function readSafely(file: string): { data: Buffer; uid: number } | null {
  return withRegularFile(file, (fd, st) => ({ data: fs.readFileSync(fd), uid: st.uid }));
}

/** `read` over a descriptor of a regular file opened without following links; null if it does not exist. */
function withRegularFile<T>(file: string, read: (fd: number, st: fs.Stats) => T): T | null {
  let fd: number;
  try {
    fd = fs.openSync(file, READ_FLAGS);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'ENOTREG', path: file });
    return read(fd, st);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a name exists, a dangling symlink included (it is never followed). */
export function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Temp files left by a writer killed mid-write; removed once they are clearly abandoned. */
export function sweepTemps(dir: string, olderThanMs: number, now: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.startsWith('.tmp-'));
  } catch {
    return;
  }
  for (const n of names) {
    const p = path.join(dir, n);
    try {
      if (now - fs.lstatSync(p).mtimeMs > olderThanMs) fs.unlinkSync(p);
    } catch {
      /* raced with its writer or another sweeper */
    }
  }
}

/** The bytes of a file from `offset` on (a log that grows while it is followed); null if absent. */
export function readBytesFrom(file: string, offset: number): Buffer | null {
  return withRegularFile(file, (fd, st) => {
    const out = Buffer.alloc(Math.max(0, st.size - offset));
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(fd, out, done, out.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return out.subarray(0, done);
  });
}
