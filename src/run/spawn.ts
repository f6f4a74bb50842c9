import { longTimeout, type LongTimer } from '../time.js';
import { launchHere, type LaunchEvents, type LaunchOutcome, type LaunchRequest } from './launch.js';
import { groupAlive, killGroup } from './proc.js';
import { createSpawner, type Spawner, type SpawnerChoice } from './spawner.js';
import type { Peaks, Sampler } from './sampler.js';

export interface RunSpec extends LaunchRequest {
  timeoutMs: number | null;
  /** Between TERM and KILL. */
  graceMs: number;
  sampler: Sampler;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Why conductor stopped it: 'timeout', 'cancel' or 'shutdown'. */
  stopped: string | null;
  error: string | null;
  durationMs: number;
  peaks: Peaks;
  outputBytes: number;
}

export interface Running {
  done: Promise<RunResult>;
  /** Stops the whole process group: TERM, then KILL after the grace period. */
  stop(reason: string): void;
}

let spawner: Spawner | null | undefined;
let choice: SpawnerChoice = 'perl';

/** Chosen by the CLI (Settings.spawner) before the first launch. */
export function chooseSpawner(c: SpawnerChoice): void {
  choice = c;
}

/** Through the Perl helper where there is one (see spawner.ts), else Node's own spawn. */
function launch(req: LaunchRequest, events: LaunchEvents): void {
  if (spawner === undefined) spawner = createSpawner(choice);
  if (!spawner?.launch(req, events)) launchHere(req, events);
}

/**
 * One run of a handler: launched (run/launch.ts), then watched here:
 * timeout, stop, resource sampling of its process group.
 */
export function runHandler(spec: RunSpec): Running {
  let pid = -1;
  let peaks: Peaks = { cpu: null, memMb: null };
  let timedOut = false;
  let stopped: string | null = null;
  let pendingStop = false;
  let killTimer: LongTimer | null = null;

  const signalGroup = () => {
    killGroup(pid, 'SIGTERM');
    killTimer = longTimeout(() => {
      if (groupAlive(pid)) killGroup(pid, 'SIGKILL');
    }, spec.graceMs);
  };
  const stop = (reason: string) => {
    if (stopped) return;
    stopped = reason;
    if (pid > 0) signalGroup();
    else pendingStop = true;
  };
  const timeout = spec.timeoutMs
    ? longTimeout(() => {
        timedOut = true;
        stop('timeout');
      }, spec.timeoutMs)
    : null;

  const done = new Promise<RunResult>((resolve) => {
    const req: LaunchRequest = {
      command: spec.command,
      cwd: spec.cwd,
      env: spec.env,
      baseEnv: spec.baseEnv,
      logPath: spec.logPath,
      logCap: spec.logCap,
    };
    launch(req, {
      spawned(p) {
        pid = p;
        peaks = spec.sampler.track(p);
        if (pendingStop) signalGroup();
      },
      done(o: LaunchOutcome) {
        timeout?.clear();
        if (pid > 0) spec.sampler.untrack(pid);
        // After a stop, whatever is left of the group gets the KILL now.
        if (stopped && pid > 0 && groupAlive(pid)) killGroup(pid, 'SIGKILL');
        killTimer?.clear();
        resolve({
          exitCode: o.code,
          signal: o.signal,
          timedOut,
          stopped,
          error: o.error,
          durationMs: o.durationMs,
          peaks,
          outputBytes: o.bytes,
        });
      },
    });
  });
  return { done, stop };
}
