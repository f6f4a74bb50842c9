// The run keeper in Node, for hosts without perl (CONDUCTOR_SPAWNER=node or no /usr/bin/perl):
// bundled on its own as dist/keeper.cjs and started once per run, detached, by launcher.ts. It
// does what keeper.pl does, step for step, and writes the same run file (keeper.pl's header is
// the protocol; run-file.ts writes the lines).
//
// Input: one JSON object on stdin (KeeperRequest, launcher.ts), then EOF. Output to the
// dispatcher on stdout: `S <id> <handler-pid>` once the handler started, or `F <id> <message hex>`
// when the run file could not be written. Exit 3: the run was already claimed (never started).
// TERM, INT and HUP are ignored (only SIGKILL ends a keeper); SIGUSR1 stops the handler.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { claimFile } from './claim.js';
import { execFailure } from './exec-limits.js';
import type { KeeperRequest } from './keeper-request.js';
import { longTimeout } from './long-timer.js';
import { startTicks } from './proc.js';
import { endLine, handlerLine, keeperLine, type EndLine } from './run-file.js';

let asked = false;
let onAsk: (() => void) | null = null;
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGPIPE'] as const) process.on(sig, () => undefined);
// SIGUSR1 asks to stop the run whose RUNFILE.stop exists (keeper.pl explains why a file).
let stopFile = '';
process.on('SIGUSR1', () => {
  if (!stopFile || !fs.existsSync(stopFile)) return;
  asked = true;
  onAsk?.();
});
process.stdout.on('error', () => undefined);

const tell = (line: string) => process.stdout.write(`${line}\n`);
const hex = (s: string) => `x${Buffer.from(s, 'utf8').toString('hex')}`;

/** The log: opened on the first byte, never through a name already there; the first `cap` bytes kept. */
function logWriter(file: string, cap: number) {
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  let fd: number | null = null;
  let kept = 0;
  let dropped = 0;
  const put = (b: Buffer) => {
    try {
      if (fd === null) {
        try {
          fd = fs.openSync(file, flags, 0o600);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return;
          fs.unlinkSync(file);
          fd = fs.openSync(file, flags, 0o600);
        }
      }
      fs.writeSync(fd, b);
    } catch {
      /* a log that cannot be written loses output, never the run */
    }
  };
  return {
    write(chunk: Buffer) {
      const room = cap - kept;
      if (room > 0) {
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        kept += part.length;
        put(part);
      }
      if (chunk.length > room) dropped += chunk.length - Math.max(0, room);
    },
    close(): number {
      if (dropped > 0) put(Buffer.from(`\n[conductor: output truncated, ${dropped} more bytes dropped]\n`));
      if (fd !== null) fs.closeSync(fd);
      return kept + dropped;
    },
  };
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    /* gone */
  }
}

interface Outcome {
  code: number | null;
  signal: number | null;
  stopped: EndLine['stopped'];
  errno: number | null;
  error: string | null;
  bytes: number;
  durationMs: number;
}

/** Starts the handler and watches it to its end (timeout, stop request, output drain). */
function supervise(req: KeeperRequest, rf: number, done: (o: Outcome) => void): void {
  const log = logWriter(req.logPath, req.logCap);
  const m0 = performance.now();
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', req.command], {
      cwd: req.cwd,
      env: req.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    done({
      code: null,
      signal: null,
      stopped: null,
      errno: null,
      error: execFailure(e.code ?? 'spawn', e.message),
      bytes: 0,
      durationMs: 0,
    });
    return;
  }
  const pid = child.pid ?? 0;
  let stopped: EndLine['stopped'] = null;
  let error: string | null = null;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let clearKill = () => undefined as void;
  if (pid) {
    fs.writeSync(rf, handlerLine(pid, Date.now()));
    tell(`S ${req.id} ${pid}`);
  }
  const stop = (why: 'timeout' | 'request') => {
    if (stopped || exit || !pid) return;
    stopped = why;
    killGroup(pid, 'SIGTERM');
    clearKill = longTimeout(() => killGroup(pid, 'SIGKILL'), req.graceMs).clear;
  };
  const clearTimeoutTimer = req.timeoutMs > 0 ? longTimeout(() => stop('timeout'), req.timeoutMs).clear : () => undefined;
  onAsk = () => stop('request');
  if (asked) stop('request');
  child.stdout!.on('data', log.write);
  child.stderr!.on('data', log.write);
  let finished = false;
  let durationMs = 0;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeoutTimer();
    clearKill();
    if (stopped && pid) killGroup(pid, 'SIGKILL');
    const signal = exit?.signal ? os.constants.signals[exit.signal] : null;
    done({ code: exit?.code ?? null, signal, stopped, errno: null, error, bytes: log.close(), durationMs });
  };
  child.on('error', (err) => {
    const e = err as NodeJS.ErrnoException;
    error =
      e.code === 'ENOENT' && !fs.existsSync(req.cwd)
        ? `working directory ${req.cwd} does not exist`
        : execFailure(e.code ?? 'spawn', e.message);
    finish();
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    durationMs = Math.round(performance.now() - m0);
    // A child of the handler that keeps the output open must not hold the run: 200 ms more.
    setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish();
    }, 200).unref();
  });
  child.on('close', () => finish());
}

function keep(req: KeeperRequest): void {
  const claimed = claimFile(
    req.runFile,
    keeperLine({ boot: req.boot, pid: process.pid, ticks: startTicks(process.pid) ?? 0, claimedMs: Date.now() }),
  );
  if (claimed === 'taken') process.exit(3);
  if (claimed) {
    tell(`F ${req.id} ${hex(`cannot write the run file: ${claimed}`)}`);
    process.exit(4);
  }
  const rf = fs.openSync(req.runFile, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW);
  stopFile = `${req.runFile}.stop`;
  asked = fs.existsSync(stopFile);
  const end = (o: Outcome) => {
    fs.writeSync(rf, endLine({ ...o, endedMs: Date.now() }));
    fs.closeSync(rf);
    process.exit(0);
  };
  if (asked) end({ code: null, signal: null, stopped: 'request', errno: null, error: null, bytes: 0, durationMs: 0 });
  else if (!fs.existsSync(req.cwd))
    end({
      code: null,
      signal: null,
      stopped: null,
      errno: null,
      error: `working directory ${req.cwd} does not exist`,
      bytes: 0,
      durationMs: 0,
    });
  else supervise(req, rf, end);
}

const chunks: Buffer[] = [];
process.stdin.on('data', (c: Buffer) => chunks.push(c));
process.stdin.on('end', () => keep(JSON.parse(Buffer.concat(chunks).toString('utf8')) as KeeperRequest));
