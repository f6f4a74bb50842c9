import * as fs from 'node:fs';
import * as path from 'node:path';
import { messageOf } from '../../errors.js';
import { exists } from '../atomic.js';

/** How often a watch that failed, or whose folder was replaced, is set again. */
const REARM_MS = 1000;

/**
 * Watches queue/ for a daemon (inotify through fs.watch): `onChange` when an entry file appears
 * there (linked in by enqueue, moved in by a batch), not when one leaves (a claim, a cancel), so
 * that a dispatcher's own claims do not wake it. Temp files (dot names) are left out.
 *
 * It never throws. A watch that cannot be set (no inotify left, the folder removed) or that is
 * lost (the folder removed or replaced) is said once and set again, checked every REARM_MS:
 * meanwhile the daemon's tick finds new entries, and once watched again it looks at once.
 */
export function watchQueueFolder(dir: string, onChange: (what: 'queued') => void, note: (message: string) => void): () => void {
  const self = path.basename(dir);
  let watcher: fs.FSWatcher | null = null;
  let ino = -1;
  let failing = false;

  const drop = () => {
    watcher?.close();
    watcher = null;
  };
  const fail = (err: unknown) => {
    drop();
    if (failing) return;
    failing = true;
    note(`cannot watch ${dir} (${messageOf(err)}): new entries start on the tick until it can`);
  };
  const onEvent = (file: string | null) => {
    // The folder itself went (removed or renamed): find out now rather than at the next check.
    if (file === self) check();
    else if (file === null || (!file.startsWith('.') && exists(path.join(dir, file)))) onChange('queued');
  };
  const arm = () => {
    drop();
    try {
      ino = fs.statSync(dir).ino;
      const w = fs.watch(dir, { persistent: false }, (_type, file) => onEvent(file));
      w.on('error', fail);
      watcher = w;
    } catch (err) {
      fail(err);
      return;
    }
    if (!failing) return;
    failing = false;
    note(`watching ${dir} again: new entries start at once`);
    // What was queued while it was not watched starts now, not at the tick.
    onChange('queued');
  };
  const check = () => {
    if (!watcher) return arm();
    try {
      if (fs.statSync(dir).ino !== ino) arm();
    } catch (err) {
      fail(err);
    }
  };

  arm();
  const timer = setInterval(check, REARM_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    drop();
  };
}
