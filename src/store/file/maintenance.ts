import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunError } from '../../errors.js';
import { FORMAT } from '../../model.js';
import { tokenAlive } from '../../run/proc.js';
import { listNames, sweepTemps } from '../atomic.js';
import { homeTrustProblems, openHome, userName } from '../home-check.js';
import { trustMessage } from '../policy.js';
import type { DispatcherRegistry, MaintenanceStore, StoreFinding } from '../roles.js';
import { rollForward } from './batch.js';
import { compactJournals, unfoldedJournals } from './fold.js';
import { RUN_DIRS, SUBDIRS, type FileHome } from './home.js';
import { staleLocks, withLock } from './locks.js';
import { listQuarantine } from './quarantine.js';

/** Opening and trusting the home, upkeep at the start of a pass, and `health`. */
export function fileMaintenance(h: FileHome): MaintenanceStore {
  /** Creates the home on first use, with owner-only permissions; a folder that is a symlink is refused. */
  const init = (): void => openHome(h.home, SUBDIRS, h.named);
  return {
    init,
    close(): void {},

    /** Files carry their own format version and are read as they are: nothing to upgrade yet. */
    async migrate(): Promise<[number, number]> {
      init();
      return [FORMAT, FORMAT];
    },

    /**
     * Before `process` runs anything: the home must be ours and writable by us
     * alone; from then on files of other users in schedules/, queue/ and
     * running/ are reported and left alone, never run.
     */
    trustForRun(): void {
      const uid = process.geteuid!();
      const refused = trustMessage(homeTrustProblems(h.home, SUBDIRS, uid));
      if (refused) throw new RunError(refused);
      h.runAs = uid;
    },

    /** Returns what failed (a fold the disk refused): the pass runs on and exits 1 at its end. */
    housekeep(me: string, nowIso: string): Promise<string[]> {
      // Temp files carry real mtimes: aged by the injected clock (CONDUCTOR_NOW in 2030) every writer's temp would look abandoned.
      rollForward(h.home, tokenAlive, (file, why) => h.quarantine(file, why));
      sweep(h, Date.now());
      return compactJournals(h, tokenAlive, me, nowIso);
    },

    healthFindings(now: number): StoreFinding[] {
      return healthFindings(h, now);
    },

    listQuarantine: () => listQuarantine(h),
    withLock: (name, fn) => withLock(h, name, fn),
  };
}

/** Liveness is the owner's pid and start time, checked on this host: nothing to renew. */
export function fileRegistry(h: FileHome): DispatcherRegistry {
  return {
    attach(owner: string): void {
      if (!h.journalStarted) h.journalOwner = owner;
    },
    heartbeat(): void {},
    ownerAlive: (owner) => tokenAlive(owner),
  };
}

/** Removes temp files of writers killed mid-write, once clearly abandoned (the dispatcher does this). */
function sweep(h: FileHome, now: number): void {
  for (const d of [
    'schedules',
    'queue',
    'running',
    'history',
    'dlq',
    'breakers',
    'state',
    'quarantine',
    'counters',
    'access/tokens',
    'access/hooks',
  ]) {
    sweepTemps(h.dir(d), 3_600_000, now);
  }
}

function healthFindings(h: FileHome, now: number): StoreFinding[] {
  const out: StoreFinding[] = [];
  const stale = staleLocks(h.dir('locks'), now, Date.now());
  out.push({
    check: 'locks',
    ok: stale.length === 0,
    message: stale.length ? `stale locks: ${stale.join(', ')}` : 'no stale locks',
  });
  const mode = fs.lstatSync(h.home).mode & 0o777;
  const trust = homeTrustProblems(h.home, SUBDIRS, process.geteuid!());
  const unfolded = unfoldedJournals(h, tokenAlive);
  out.push({
    check: 'history',
    ok: unfolded.length === 0,
    message: unfolded.length
      ? `${unfolded.length} history journal(s) of finished passes could not be folded into the archive (disk full?); the next process retries`
      : 'history journals folded',
  });
  out.push(diskFinding(h.home));
  out.push({
    check: 'permissions',
    ok: (mode & 0o077) === 0 && trust.length === 0,
    message: trust.length
      ? trust.join('; ')
      : `home ${h.home} has mode ${mode.toString(8)}${mode & 0o077 ? ' (others can read it; expected 700)' : ''}`,
  });
  const foreign = foreignFiles(h, process.geteuid!());
  out.push({
    check: 'ownership',
    ok: foreign.length === 0,
    message: foreign.length
      ? `${foreign.length} file(s) owned by another user, which process does not run: ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''}`
      : "every schedule and queue file is the home owner's",
  });
  return out;
}

/** Files in schedules/, queue/ and running/ that `process` run by `uid` would leave alone. */
function foreignFiles(h: FileHome, uid: number): string[] {
  const out: string[] = [];
  for (const d of RUN_DIRS) {
    for (const n of listNames(h.dir(d))) {
      try {
        const owner = fs.lstatSync(path.join(h.dir(d), n)).uid;
        if (owner !== uid) out.push(`${d}/${n} (${userName(owner)})`);
      } catch {
        /* moved meanwhile */
      }
    }
  }
  return out;
}

/** Little free space on the home's file system: folds and records will start to fail. */
function diskFinding(home: string): StoreFinding {
  const st = fs.statfsSync(home);
  const free = st.bavail * st.bsize;
  const total = st.blocks * st.bsize;
  const low = free < 64 * 1024 * 1024 && free < total * 0.05;
  return {
    check: 'disk',
    ok: !low,
    message: `${Math.floor(free / 1024)} KiB free of ${Math.floor(total / 1024)} KiB on the home's file system${low ? ' (under 5 %)' : ''}`,
  };
}
