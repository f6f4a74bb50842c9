import * as os from 'node:os';
import { execFailure } from './exec-limits.js';
import type { RunFile } from './run-file.js';
import type { Peaks } from './sampler.js';

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Why it was stopped: 'timeout', or the reason given to stop() ('cancel', 'shutdown'). */
  stopped: string | null;
  error: string | null;
  durationMs: number;
  peaks: Peaks;
  outputBytes: number;
  /** The handler's start and end on the wall clock, as its keeper saw them (null: it never started). */
  startedAtMs: number | null;
  endedAtMs: number | null;
  /** The keeper died before it wrote how the run ended: nobody knows (recorded abandoned). */
  lost: string | null;
}

const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n as number, name]));

/** How a run ended, from its run file; a keeper that died first leaves the handler's group killed. */
export function resultOf(rf: RunFile | 'missing' | 'bad', stopReason: string | null, peaks: Peaks, now = Date.now()): RunResult {
  const base = { peaks, timedOut: false, stopped: null, exitCode: null, signal: null, error: null, outputBytes: 0 };
  if (rf === 'missing' || rf === 'bad' || rf.never !== null || !rf.keeper) {
    const why = rf === 'bad' ? 'its run file is unreadable' : 'its keeper exited before it started the handler';
    return { ...base, durationMs: 0, startedAtMs: null, endedAtMs: null, lost: why };
  }
  const e = rf.end;
  if (!e) {
    const started = rf.handler?.startedMs ?? null;
    const durationMs = started === null ? 0 : Math.max(0, now - started);
    return { ...base, durationMs, startedAtMs: started, endedAtMs: now, lost: 'its keeper died before the handler ended' };
  }
  const error = e.errno !== null ? execFailure(e.errno, e.error ?? '') : e.error;
  return {
    ...base,
    exitCode: e.errno !== null ? null : e.code,
    signal: e.signal === null ? null : (SIGNAL_NAMES.get(e.signal) ?? `SIG${e.signal}`),
    timedOut: e.stopped === 'timeout',
    stopped: e.stopped === 'timeout' ? 'timeout' : e.stopped === 'request' ? (stopReason ?? 'shutdown') : null,
    error,
    durationMs: e.durationMs,
    outputBytes: e.bytes,
    startedAtMs: rf.handler?.startedMs ?? e.endedMs - e.durationMs,
    endedAtMs: e.endedMs,
    lost: null,
  };
}
