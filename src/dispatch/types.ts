// The dispatcher's public shapes: what `process` passes in, what it reports, what it returns.
import type { PrunePlan } from '../app/prune.js';
import type { Entry, Execution, Schedule } from '../model.js';
import type { Limits } from '../queue/admission.js';
import type { ResourceProbe } from '../run/resources.js';
import type { Running } from '../run/spawn.js';

/** What the dispatcher takes from its host process (the CLI passes its own). */
export interface Host {
  /** The environment every handler inherits (under its schedule's `env`). */
  env: NodeJS.ProcessEnv;
  /** Where a handler whose schedule names no `cwd` runs. */
  cwd: string;
}

export interface DispatchOptions {
  limits: Limits;
  starvationMs: number;
  graceMs: number;
  logCap: number;
  daemon: boolean;
  probe: ResourceProbe;
  /** A one-shot pass whose entries are blocked only by load waits this long for it to fall. */
  patienceMs: number;
  /** Tick of the daemon. */
  tickMs: number;
  /**
   * A daemon (or --wait pass) watches the queue and starts what others queue at once (wake.ts);
   * false: only its tick finds them, as before instant start (the benchmark's baseline).
   */
  instant: boolean;
  /** Start what can start and end without waiting for the runs (their keepers go on). */
  noWait: boolean;
  /** What a stop signal does to running handlers: leave them to their keepers, wait, or stop them. */
  onStop: OnStop;
  /**
   * `--wait`: tick as a daemon does until nothing is queued or running in the store, giving up
   * (as on a stop signal) at `untilMs` on the context's clock; null for a plain pass or a daemon.
   */
  wait: { untilMs: number | null } | null;
  /** The daemon's retention (--retain): history older than this is pruned at start and about hourly. */
  retain: PrunePlan | null;
  report: (ev: DispatchEvent) => void;
  /**
   * What handlers get from the process that runs them (the CLI passes its own): the environment
   * they inherit and the working directory they run in unless their schedule names one.
   */
  host: Host;
}

export type OnStop = 'leave' | 'wait' | 'stop';

export type DispatchEvent =
  | { type: 'queued'; entry: Entry; reason: string }
  | { type: 'started'; entry: Entry; execution_id: string }
  | { type: 'exited'; entry_id: string }
  | { type: 'finished'; execution: Execution }
  | { type: 'recovered'; entry_id: string; what: string }
  | { type: 'note'; message: string };

/** Only `report` is needed by the phases a non-dispatching verb (cancel) runs too. */
export type Reporter = Pick<DispatchOptions, 'report'>;

export interface Summary {
  promoted: number;
  started: number;
  succeeded: number;
  failed: number;
  skipped: number;
  recovered: number;
  still_queued: number;
  blocked: number;
  /** Runs still going when the pass ended, left to their keepers for the next dispatcher. */
  left_running: number;
  /** A `--wait` pass gave up at its `--wait-timeout` with work still queued or running. */
  timed_out: boolean;
}

/** A daemon, or a pass told to `--wait`: it promotes, recovers and naps on the tick. */
export function ticks(o: Pick<DispatchOptions, 'daemon' | 'wait'>): boolean {
  return o.daemon || o.wait !== null;
}

/** Set by signal handlers: stop starting, then (second signal) stop what runs. */
export interface StopSignal {
  stopping: boolean;
  killing: boolean;
  wake?: () => void;
}

/** A run this dispatcher started and has not yet seen exit. */
export interface Active {
  entry: Entry;
  /** Null for an adopted run whose schedule was deleted meanwhile. */
  schedule: Schedule | null;
  executionId: string;
  run: Running;
}

export function emptySummary(): Summary {
  return {
    promoted: 0,
    started: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    recovered: 0,
    still_queued: 0,
    blocked: 0,
    left_running: 0,
    timed_out: false,
  };
}
