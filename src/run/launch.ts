import { spawn, type ChildProcess } from 'node:child_process';
import { execFailure } from './exec-limits.js';
import * as fs from 'node:fs';

/** What it takes to start one handler and capture its output. */
export interface LaunchRequest {
  command: string;
  cwd: string;
  /** The handler's environment: `baseEnv` (shared by many runs, when given) plus `env`. */
  env: NodeJS.ProcessEnv;
  baseEnv?: NodeJS.ProcessEnv;
  logPath: string;
  /** Bytes of output kept; the rest is counted and dropped. */
  logCap: number;
}

export interface LaunchOutcome {
  code: number | null;
  signal: string | null;
  error: string | null;
  bytes: number;
  /** Milliseconds from spawn to exit. */
  durationMs: number;
}

export interface LaunchEvents {
  spawned(pid: number): void;
  done(outcome: LaunchOutcome): void;
}

/**
 * Runs a handler through the shell as the leader of its own process group,
 * so that a timeout or a cancel reaches every process it started. Spawned
 * with child_process directly, not execa: this is the hot path of `process`
 * and the bare spawn is about twice as fast as execa's full pipeline.
 */
export function launchHere(req: LaunchRequest, events: LaunchEvents): void {
  const started = performance.now();
  const log = createLogWriter(req.logPath, req.logCap);
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', req.command], {
      cwd: req.cwd,
      env: req.baseEnv ? { ...req.baseEnv, ...req.env } : req.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    // Node throws (rather than emits) most exec failures, E2BIG among them.
    const e = err as NodeJS.ErrnoException;
    events.done({
      code: null,
      signal: null,
      error: execFailure(e.code ?? 'spawn', e.message.replace(/^spawn \S+ /, '')),
      bytes: 0,
      durationMs: 0,
    });
    return;
  }
  child.stdout!.on('data', log.write);
  child.stderr!.on('data', log.write);
  if (child.pid) events.spawned(child.pid);

  let error: string | null = null;
  let exit: { code: number | null; signal: string | null } | null = null;
  let finished = false;
  let drainTimer: NodeJS.Timeout | null = null;
  const finish = () => {
    if (finished) return;
    finished = true;
    const durationMs = Math.round(performance.now() - started);
    if (drainTimer) clearTimeout(drainTimer);
    const report = (bytes: number) =>
      events.done({ code: exit?.code ?? null, signal: exit?.signal ?? null, error, bytes, durationMs });
    log.close().then(report, () => report(0));
  };
  child.on('error', (err) => {
    error =
      (err as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(req.cwd)
        ? `working directory ${req.cwd} does not exist`
        : execFailure((err as NodeJS.ErrnoException).code ?? 'spawn', err.message);
    finish();
  });
  // 'close' waits for the output pipes; a background child that keeps them
  // open must not hold the task forever, so give them a moment after exit.
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    drainTimer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish();
    }, 200);
  });
  child.on('close', (code, signal) => {
    exit = exit ?? { code, signal };
    finish();
  });
}

const LOG_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/**
 * A log is a new file: a name already there (a symlink planted in logs/) is
 * unlinked, never written through, and the log created in its place.
 */
async function openFreshLog(file: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(file, LOG_FLAGS, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await fs.promises.unlink(file);
    return fs.promises.open(file, LOG_FLAGS, 0o600);
  }
}

/**
 * Captures output into the log file, opened only when the first byte
 * arrives (most handlers print nothing) and written off the main thread.
 * Keeps the first `cap` bytes and counts the rest in a last line.
 */
function createLogWriter(file: string, cap: number) {
  let kept = 0;
  let dropped = 0;
  let handle: Promise<fs.promises.FileHandle> | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  const append = (data: Buffer) => {
    handle ??= openFreshLog(file);
    const h = handle;
    chain = chain.then(async () => (await h).write(data)).catch(() => undefined);
  };
  return {
    write(chunk: Buffer) {
      const room = cap - kept;
      if (room > 0) {
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        kept += part.length;
        append(part);
      }
      if (chunk.length > room) dropped += chunk.length - Math.max(0, room);
    },
    async close(): Promise<number> {
      if (dropped > 0) append(Buffer.from(`\n[conductor: output truncated, ${dropped} more bytes dropped]\n`));
      await chain;
      if (handle) await (await handle).close();
      return kept + dropped;
    },
  };
}
