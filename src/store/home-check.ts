import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { reasonOf, RunError } from '../errors.js';
import { DIR_MODE } from './atomic.js';

/**
 * The home is a trust boundary: what is in it may be run, as whoever runs
 * `process`. So, as sshd's StrictModes and cron do:
 *  - no folder of the home is followed through a symlink (checked with lstat
 *    when the store opens it; a link is a refusal, never a move);
 *  - `process` refuses a home it does not own, or one whose folders others
 *    can write to, and does not run files another user owns (see FileStore).
 */

/**
 * The home as named by the user, through a symlink if it is one (a home moved
 * to another disk and linked back is common): that link is the user's own
 * choice, and the ownership checks apply to where it leads. Links inside the
 * home are never followed.
 */
export function resolveHome(home: string): string {
  const abs = path.resolve(home);
  try {
    return fs.lstatSync(abs).isSymbolicLink() ? fs.realpathSync(abs) : abs;
  } catch {
    return abs; // not there yet (created on first use), or a dangling link (refused by openHome)
  }
}

/** Creates (if missing) and checks the home and its folders: each must be a real directory. */
export function openHome(home: string, folders: readonly string[], named: string = home): void {
  try {
    realDir(home, true);
    for (const f of folders) realDir(path.join(home, f), false);
  } catch (err) {
    if (named === path.resolve(home) || !(err instanceof RunError)) throw err;
    throw new RunError(`${err.message} (the home ${named} leads to ${home})`);
  }
}

function realDir(dir: string, withParents: boolean): void {
  let st = lstatOrNull(dir);
  if (!st) {
    if (withParents) makeParents(path.dirname(dir));
    try {
      fs.mkdirSync(dir, { mode: DIR_MODE });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunError(`cannot create ${dir}: ${reasonOf(err)}`);
    }
    st = fs.lstatSync(dir);
  }
  if (st.isSymbolicLink()) {
    throw new RunError(
      `${dir} is a symbolic link: conductor follows no links in its home; replace it with a real directory${withParents ? ` (or give --home the real path, ${realPathOr(dir)})` : ''}`,
    );
  }
  if (!st.isDirectory()) throw new RunError(`${dir} is not a directory; move it away so that conductor can create its folder`);
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdir loops forever where
 * mkdir answers ENOENT under an existing parent (/proc/self/x).
 */
function makeParents(dir: string): void {
  if (fs.existsSync(dir)) return;
  const parent = path.dirname(dir);
  if (parent !== dir) makeParents(parent);
  try {
    fs.mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunError(`cannot create ${dir}: ${reasonOf(err)}`);
  }
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function realPathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return 'its target';
  }
}

/**
 * Why `process` must not run what this home holds, as user `uid`: a home
 * owned by someone else, or one where another user could write. Empty when
 * the home is safe to run.
 */
export function homeTrustProblems(home: string, folders: readonly string[], uid: number): string[] {
  const out: string[] = [];
  const st = fs.lstatSync(home);
  if (st.uid !== uid) {
    const owner = userName(st.uid);
    out.push(
      `home ${home} is owned by ${owner} (uid ${st.uid}), not by ${userName(uid)} who runs process: conductor runs only what its own user queued; run process as ${owner} (runuser -u ${owner} -- conductor process)`,
    );
  }
  for (const dir of [home, ...folders.map((f) => path.join(home, f))]) {
    const mode = lstatOrNull(dir)?.mode ?? 0;
    if (mode & 0o022) {
      const who = mode & 0o020 ? (mode & 0o002 ? 'group- and world-writable' : 'group-writable') : 'writable by others';
      out.push(
        `${dir === home ? `home ${home}` : dir} is ${who} (mode ${(mode & 0o777).toString(8)}): another user could plant what process runs; fix: chmod 700 ${dir}`,
      );
    }
  }
  return out;
}

/** A file of the home owned by another user, said the same way wherever it is found. */
export function foreignOwner(fileUid: number, uid: number): string | null {
  if (fileUid === uid) return null;
  return `owned by ${userName(fileUid)} (uid ${fileUid}), not by ${userName(uid)} who runs process`;
}

const names = new Map<number, string>();

/** The login name of a uid (through NSS, as id(1) does), or "uid N". */
export function userName(uid: number): string {
  let name = names.get(uid);
  if (name === undefined) {
    const r = spawnSync('getent', ['passwd', String(uid)], { encoding: 'utf8' });
    name = (r.status === 0 && r.stdout.split(':')[0]) || `uid ${uid}`;
    names.set(uid, name);
  }
  return name;
}
