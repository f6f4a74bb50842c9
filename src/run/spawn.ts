import { launchKeeper, type LaunchRequest } from './launcher.js';
import * as path from 'node:path';
import { killRunLeftovers } from './environ.js';
import { pidRunning } from './proc.js';
import { resultOf, type RunResult } from './result.js';
import type { EndLine, KeeperLine, RunFile } from './run-file.js';
import { askToStop, keeperLive, readRunFile } from './run-record.js';
import type { Peaks, Sampler } from './sampler.js';

export type { RunResult } from './result.js';

export interface RunSpec extends LaunchRequest {
  sampler: Sampler;
}

export interface Running {
  done: Promise<RunResult>;
  /** Asks the keeper to stop the handler's group: TERM, then KILL after the grace period. */
  stop(reason: string): void;
  /** Stops watching (the dispatcher leaves the run to its keeper and to the next dispatcher). */
  detach(): void;
}

/** A run whose end the keeper told us: its keeper line is not needed. */
const TOLD: KeeperLine = { boot: '', pid: 0, ticks: 0, claimedMs: 0 };

/** How often a run without a launcher to tell its end (adopted, or the launcher died) is looked at. */
const POLL_MS = 250;

/** One run as the dispatcher follows it: told by the launcher, or by looking at the run file. */
class Watch implements Running {
  done: Promise<RunResult>;
  private resolve!: (r: RunResult) => void;
  private keeperPid: number | null = null;
  private handlerPid: number | null = null;
  private peaks: Peaks = { cpu: null, memMb: null };
  private stopReason: string | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private over = false;

  constructor(
    private readonly runFile: string,
    private readonly boot: string,
    private readonly sampler: Sampler,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  keeper(pid: number): void {
    this.keeperPid = pid;
  }

  spawned(pid: number): void {
    if (this.over || this.handlerPid !== null) return;
    this.handlerPid = pid;
    this.peaks = this.sampler.track(pid);
  }

  stop(reason: string): void {
    if (this.stopReason || this.over) return;
    this.stopReason = reason;
    askToStop(this.runFile, this.boot);
  }

  failed(message: string): void {
    this.finish({
      exitCode: null,
      signal: null,
      timedOut: false,
      stopped: null,
      error: message,
      durationMs: 0,
      peaks: this.peaks,
      outputBytes: 0,
      startedAtMs: null,
      endedAtMs: null,
      lost: null,
    });
  }

  exited(): void {
    this.finish(resultOf(readRunFile(this.runFile), this.stopReason, this.peaks));
  }

  ended(startedMs: number | null, end: EndLine): void {
    const handler = startedMs === null ? null : { pid: this.handlerPid ?? 0, startedMs };
    this.finish(resultOf({ keeper: TOLD, never: null, handler, end }, this.stopReason, this.peaks));
  }

  /** Nobody tells us when the keeper exits: look at its run file until it ends or the keeper is gone. */
  untracked(): void {
    if (this.over || this.pollTimer) return;
    const look = () => {
      this.pollTimer = null;
      const rf = readRunFile(this.runFile);
      if (typeof rf === 'object' && rf.handler && this.handlerPid === null) this.spawned(rf.handler.pid);
      if (typeof rf === 'object' && (rf.end || rf.never !== null)) return this.exited();
      const waiting = rf === 'missing' && this.keeperPid !== null && pidRunning(this.keeperPid);
      if (typeof rf === 'object' && keeperLive(rf, this.boot)) this.pollTimer = setTimeout(look, POLL_MS);
      else if (waiting) this.pollTimer = setTimeout(look, POLL_MS);
      else this.exited();
    };
    look();
  }

  detach(): void {
    this.over = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.handlerPid !== null) this.sampler.untrack(this.handlerPid);
  }

  private finish(r: RunResult): void {
    if (this.over) return;
    this.detach();
    // Its keeper died: whatever is left of the handler goes (found by its execution id, not by a
    // process group number that may have been reused since).
    if (r.lost) killRunLeftovers(path.basename(this.runFile, '.run'));
    this.resolve(r);
  }
}

/** Starts a handler under a keeper (launcher.ts) and follows it to its end. */
export function runHandler(spec: RunSpec): Running {
  const w = new Watch(spec.runFile, spec.boot, spec.sampler);
  const { sampler: _s, ...req } = spec;
  launchKeeper(req, w);
  return w;
}

/**
 * Follows a run another dispatcher started (adoption): its keeper is alive, so it is watched
 * through its run file; `stop` reaches it as it would the keeper of a run started here.
 */
export function reattach(runFile: string, boot: string, sampler: Sampler, rf: RunFile | null): Running {
  const w = new Watch(runFile, boot, sampler);
  if (rf?.keeper) w.keeper(rf.keeper.pid);
  if (rf?.handler && !rf.end) w.spawned(rf.handler.pid);
  w.untracked();
  return w;
}
