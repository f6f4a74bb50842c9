import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where the keepers of a home's runs write their run files: runtime state, as containerd keeps its
 * shims' state in /run. A run file only means something until the machine restarts (its keeper
 * dies with it, and a dispatcher of an earlier boot is told apart by its boot id), so it belongs on
 * a tmpfs: no disk write per run, and no inode to allocate and free on the home's file system for
 * every run (on ext4 without a journal that alone cost a 2,000-run drain 15 %).
 *
 * They go under /dev/shm/conductor-<uid> (/dev/shm is a tmpfs on every Linux, containers included;
 * /run is not always one), one folder per home, named by the home folder's device and inode (not
 * its path: two dispatchers that reach one home by two paths, a link or a bind mount, must meet). Each folder is made
 * 0700 and used only if it is a directory (not a link) that we own and nobody else can enter, the
 * checks tmux makes of /tmp/tmux-<uid>: a folder someone else planted there is never used. Where
 * /dev/shm is not a tmpfs, or not ours to use, the home's own runs/ serves.
 */
export function runtimeDirFor(home: string): string {
  const cached = chosen.get(home);
  // Looked at again if it went: systemd-logind's RemoveIPC empties /dev/shm of a user logging out.
  if (cached && fs.existsSync(cached)) return cached;
  const dir = chooseRuntimeDir(home);
  chosen.set(home, dir);
  return dir;
}

const chosen = new Map<string, string>();

function chooseRuntimeDir(home: string): string {
  const uid = process.getuid?.() ?? -1;
  const base = `/dev/shm/conductor-${uid}`;
  let id: string;
  try {
    const st = fs.statSync(home);
    id = `${st.dev.toString(16)}-${st.ino.toString(16)}`;
  } catch {
    return path.join(home, 'runs');
  }
  const dir = path.join(base, id);
  return onTmpfs('/dev/shm') && privateDir(base, uid) && privateDir(dir, uid) ? dir : path.join(home, 'runs');
}

const TMPFS_MAGIC = 0x01021994;

function onTmpfs(dir: string): boolean {
  try {
    return fs.statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

function privateDir(dir: string, uid: number): boolean {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  try {
    const st = fs.lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}
