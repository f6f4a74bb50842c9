import * as fs from 'node:fs';

const NEW_FILE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/**
 * Creates a run file with its first line, once: written under a temporary name, then link(2)ed
 * to its own, so it is whole when it appears and whoever links second learns it was first.
 * Answers '' (ours), 'taken' (someone else's), or why it could not be written.
 */
export function claimFile(file: string, line: string): string {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, NEW_FILE, 0o600);
    try {
      fs.writeSync(fd, line);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(tmp, file);
    return '';
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'EEXIST' && e.syscall === 'link' ? 'taken' : e.message;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
