import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context.js';
import { RunError } from '../errors.js';
import { readText, writeAtomic } from '../store/atomic.js';
import { selfIdentity, tokenAlive } from '../run/proc.js';

/** flock(1)'s exit code when the lock is held elsewhere (-E); any other non-zero is a failure of flock itself. */
const HELD = 75;

/**
 * One daemon per home rests on a kernel lock: flock(2) on `state/daemon.lock`,
 * held for the daemon's life and dropped by the kernel when it dies, however
 * it dies. Node has no flock, so util-linux's `flock -n 3` takes it on our
 * descriptor passed as its fd 3: a flock lock belongs to the open file
 * description, which this process keeps open after flock(1) exits. Node opens
 * files close-on-exec, so no handler inherits the lock. The pid file beside it
 * is only for people and `status`; nothing decides by it.
 */
export function claimDaemonLock(ctx: Context): () => void {
  const pidFile = ctx.store.pidFile();
  const fd = fs.openSync(
    path.join(path.dirname(pidFile), 'daemon.lock'),
    fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
    0o600,
  );
  const r = spawnSync('flock', ['-n', '-E', String(HELD), '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  if (r.error) {
    fs.closeSync(fd);
    throw new RunError(`cannot lock the home for the daemon: flock (util-linux) did not run: ${r.error.message}`);
  }
  if (r.status !== 0) {
    fs.closeSync(fd);
    if (r.status === HELD) throw new RunError(`a daemon is already running on this home (pid ${holderPid(pidFile)})`);
    throw new RunError(`cannot lock the home for the daemon: flock: ${String(r.stderr).trim() || `exit ${r.status}`}`);
  }
  const me = selfIdentity();
  writeAtomic(pidFile, JSON.stringify({ pid: me.pid, token: me.token, host: me.host }) + '\n');
  return () => {
    try {
      fs.unlinkSync(pidFile);
    } catch {
      /* removed by hand */
    }
    fs.closeSync(fd);
  };
}

/** The holder writes its pid file just after taking the lock: give it a moment to appear. */
function holderPid(pidFile: string): string {
  for (let i = 0; i < 40; i++) {
    try {
      const holder = JSON.parse(readText(pidFile) ?? '');
      if (holder.token && tokenAlive(holder.token)) return String(holder.pid);
    } catch {
      /* not there yet, or being replaced */
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
  }
  return 'unknown';
}
