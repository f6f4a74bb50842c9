import { printable } from '../text.js';
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChalkInstance } from 'chalk';
import { planPrune, type PrunePlan } from '../app/prune.js';
import { dispatch, type DispatchEvent, type OnStop, type StopSignal, type Summary } from '../dispatch/loop.js';
import type { Limits } from '../queue/admission.js';
import { InputError } from '../errors.js';
import { settings as currentSettings } from '../config.js';
import { fileProbe, procProbe, type ResourceProbe } from '../run/resources.js';
import { chooseLauncher } from '../run/launcher.js';
import { parseIntIn } from '../schedule/definition.js';
import { formatDuration, isoMsInZone, parseDuration } from '../time.js';
import { globals, openContext, printJson, reportProblems, setupColor, warn } from './common.js';
import { claimDaemonLock } from './daemon-lock.js';
import { createProgress } from './progress.js';

function percentOption(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 100)
    throw new InputError(`invalid ${name} '${v}': expected a percentage from 1 to 100`);
  return n;
}

export function registerProcess(program: Command): void {
  program
    .command('process')
    .description('one pass: queue due schedules, run queued entries by priority within the limits, exit when done')
    .option('--max-concurrent <n>', 'tasks running at once', '4')
    .option('--max-cpu <pct>', 'start nothing while machine CPU + estimate would exceed this', '80')
    .option('--max-mem <pct>', 'start nothing while memory in use + estimate would exceed this', '85')
    .option('--starvation-threshold <dur>', 'one priority step per this long waited', '30m')
    .option('--grace <dur>', 'between TERM and KILL when a handler is stopped', '5s')
    .option('--daemon', 'keep running: tick every second, stop cleanly on SIGTERM/SIGINT')
    .option('--wait', 'keep going until nothing is queued or running (blocked entries and pending retries too)')
    .option('--wait-timeout <dur>', 'with --wait: give up after this long, exit 1')
    .option('--retain <dur>', 'with --daemon: prune history older than this at start and about hourly (see prune)')
    .option('--no-wait', 'start what can start and exit; later passes (or the daemon) record those runs')
    .option(
      '--on-stop <what>',
      'what SIGTERM/SIGINT does to running handlers: leave (to their keepers, after a second in which a second signal stops them), wait, stop',
      'leave',
    )
    .action(runProcess);
}

async function runProcess(opts: Record<string, string | boolean | undefined>, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const limits = parseLimits(opts);
  const starvationMs = parseDuration(opts.starvationThreshold, 'starvation threshold');
  const graceMs = parseDuration(opts.grace, 'grace');
  const onStop = parseOnStop(opts.onStop);
  const noWait = opts.wait === false;
  if (noWait && opts.daemon) throw new InputError('--no-wait is for one pass: a daemon follows its runs (drop one of the two)');
  const waitFor = parseWait(opts);
  const retain = parseRetain(opts);
  const ctx = await openContext(cmd);
  const wait = waitFor === null ? null : { untilMs: waitFor === Infinity ? null : ctx.clock() + waitFor };
  await ctx.store.trustForRun();
  const c = setupColor(g);
  capByDescriptors(limits, (line) => (g.json ? warn(`conductor: note: ${line}`) : say(`${c.yellow('note')}     ${line}`)));
  const daemon = Boolean(opts.daemon);
  // Before the pid file appears: a SIGTERM sent as soon as it names us must find the handler.
  const stop = stopOnSignals();
  const releaseLock = daemon ? claimDaemonLock(ctx) : null;
  const settings = currentSettings();
  chooseLauncher(settings.spawner);
  const probe = await openProbe(settings.resourcesFile);
  const progress = createProgress(!g.json && !daemon);
  const print = eventPrinter(c, daemon, progress);
  const report = (ev: DispatchEvent) => {
    if (g.json) return;
    progress.clear();
    print(ev);
    progress.draw(ctx);
  };
  try {
    const host = { env: handlerEnv(process.env), cwd: process.cwd() };
    const o = {
      limits,
      starvationMs,
      graceMs,
      daemon,
      probe,
      report,
      logCap: settings.logCap,
      patienceMs: settings.patienceMs,
      tickMs: settings.testHooks.tickMs ?? 1000,
      instant: !settings.testHooks.tickOnly,
      noWait,
      onStop,
      wait,
      retain,
      host,
    };
    const summary = await dispatch(ctx, o, stop);
    progress.clear();
    reportProblems(ctx);
    // --wait promised nothing left: anything left is a failure of the wait.
    const gaveUp = wait !== null && (summary.timed_out || summary.still_queued > 0 || summary.left_running > 0);
    if (gaveUp) process.exitCode = 1;
    if (g.json) printJson(summary);
    else
      say(
        summaryLine(
          summary,
          gaveUp ? `gave up${summary.timed_out ? ` after --wait-timeout ${String(opts.waitTimeout)}` : ''}` : 'done',
          await ctx.store.isPaused(),
        ),
      );
  } finally {
    releaseLock?.();
  }
}

function summaryLine(summary: Summary, head: string, paused: boolean): string {
  const left = summary.left_running ? `, ${summary.left_running} left running (the next pass records them)` : '';
  const pause = paused ? ' (home is paused: nothing started)' : '';
  return `${head}: ${summary.started} started, ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.skipped} skipped, ${summary.still_queued} still queued${left}${pause}`;
}

/**
 * Handlers inherit our environment with conductor's own bin folder first on PATH (also as
 * CONDUCTOR_BIN), so that `conductor trigger next.step` works under cron's PATH=/usr/bin:/bin; the
 * folder of the node running us goes last, for bin/conductor's `#!/usr/bin/env node`.
 */
function handlerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // __dirname is the bundle's folder, dist/, beside bin/.
  const bin = path.resolve(__dirname, '..', 'bin');
  const parts = [bin, ...(env.PATH ?? '/usr/bin:/bin').split(':').filter((p) => p && p !== bin)];
  const nodeDir = path.dirname(process.execPath);
  if (!parts.includes(nodeDir)) parts.push(nodeDir);
  return { ...env, PATH: parts.join(':'), CONDUCTOR_BIN: bin };
}

/** --wait's patience in ms (Infinity: no timeout), or null without --wait. */
function parseWait(opts: Record<string, string | boolean | undefined>): number | null {
  // commander keeps the last of --wait and --no-wait: both given is a contradiction, said as one.
  const args = process.argv.slice(2);
  if (args.includes('--wait') && args.includes('--no-wait'))
    throw new InputError('--wait and --no-wait contradict each other (keep one)');
  if (opts.wait !== true) {
    if (opts.waitTimeout !== undefined) throw new InputError('--wait-timeout goes with --wait (add --wait)');
    return null;
  }
  if (opts.daemon) throw new InputError('--wait is for a pass: a daemon never ends (drop one of the two)');
  return opts.waitTimeout === undefined ? Infinity : parseDuration(opts.waitTimeout, 'wait-timeout');
}

/** --retain: the daemon's retention plan, or null. */
function parseRetain(opts: Record<string, string | boolean | undefined>): PrunePlan | null {
  if (opts.retain === undefined) return null;
  if (!opts.daemon) throw new InputError('--retain is for the daemon (--daemon); a pass from crontab can run conductor prune');
  return planPrune(opts.retain, undefined, '--retain');
}

function parseOnStop(v: unknown): OnStop {
  if (v === 'leave' || v === 'wait' || v === 'stop') return v;
  throw new InputError(`invalid --on-stop '${String(v)}': expected leave, wait or stop`);
}

function parseLimits(opts: Record<string, string | boolean | undefined>): Limits {
  return {
    maxConcurrent: parseIntIn('max-concurrent', opts.maxConcurrent, 1, 10_000),
    maxCpu: percentOption('max-cpu', String(opts.maxCpu)),
    maxMem: percentOption('max-mem', String(opts.maxMem)),
  };
}

/** Never more runs at once than the descriptor limit allows; said once when it lowers --max-concurrent. */
function capByDescriptors(limits: Limits, note: (line: string) => void): void {
  const fdCap = descriptorCap(openFileLimit());
  if (fdCap.max >= limits.maxConcurrent) return;
  limits.maxConcurrent = fdCap.max;
  note(`running at most ${fdCap.max} at once: ${fdCap.limit} open file descriptors allowed, ${PER_RUN_FDS} per run`);
}

/**
 * The first SIGTERM/SIGINT stops starting (and, with --on-stop leave, ends the pass at once,
 * leaving what runs to its keepers); the second stops what runs.
 */
function stopOnSignals(): StopSignal {
  const stop: StopSignal = { stopping: false, killing: false };
  const onSignal = () => {
    if (stop.stopping) stop.killing = true;
    stop.stopping = true;
    stop.wake?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return stop;
}

async function openProbe(resourcesFile: string | undefined): Promise<ResourceProbe> {
  if (resourcesFile) return fileProbe(resourcesFile);
  const p = procProbe();
  await p.warm();
  return p;
}

/** One line per event of the pass, for people; scripts use --json. */
function eventPrinter(
  c: ChalkInstance,
  daemon: boolean,
  progress: ReturnType<typeof createProgress>,
): (ev: DispatchEvent) => void {
  return (ev) => {
    switch (ev.type) {
      case 'queued':
        return say(`${c.cyan('queued')}   ${ev.entry.task_id} ${c.dim(ev.entry.entry_id)} (${ev.reason})`);
      case 'started':
        progress.started();
        if (daemon) say(`${c.blue('started')}  ${ev.entry.task_id} ${c.dim(ev.execution_id)}`);
        return;
      case 'exited':
        return progress.exited();
      case 'finished': {
        const x = ev.execution;
        progress.finished();
        const colour = x.status === 'success' ? c.green : x.status === 'skipped' || x.status === 'cancelled' ? c.yellow : c.red;
        const code = x.exit_code === null ? '' : ` exit ${x.exit_code}`;
        const why = x.error && x.status !== 'failed' ? ` (${printable(x.error)})` : '';
        return say(
          `${colour(x.status.padEnd(8))} ${x.task_id} ${c.dim(x.execution_id)}${code} in ${formatDuration(x.duration_ms)}${why}`,
        );
      }
      case 'recovered':
        return say(`${c.yellow('recovered')} ${ev.entry_id}: ${printable(ev.what)}`);
      case 'note':
        return say(`${c.yellow('note')}     ${printable(ev.message)}`);
    }
  };
}

/**
 * Descriptors one run holds: its output pipe and its log in the Perl helper, plus
 * the pipe that reports a failed exec while a batch starts; from Node's spawn,
 * stdout, stderr and the log. Each process (Node, the helper) has the limit.
 */
const PER_RUN_FDS = 3;
/** Node itself, the store (journal, locks, database sockets), the helper's pipes, directory reads. */
const RESERVED_FDS = 64;

function descriptorCap(limit: number | null): { limit: number; max: number } {
  if (limit === null) return { limit: Infinity, max: Infinity };
  return { limit, max: Math.max(1, Math.floor((limit - RESERVED_FDS) / PER_RUN_FDS)) };
}

/**
 * The soft RLIMIT_NOFILE of this process. Node raises its soft limit to the
 * hard one at start-up (node.cc, PlatformInit), so this already is the most we
 * can have and handlers inherit it; there is nothing left to raise.
 */
function openFileLimit(): number | null {
  try {
    const line = fs
      .readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

/**
 * One line of the pass's report; what came from the home (errors, notes) is made printable by the
 * caller. Written to a file or a pipe (the crontab line appends every pass to one log), each line
 * starts with the real time, ISO-8601 with the zone's offset.
 */
function say(line: string): void {
  process.stdout.write(process.stdout.isTTY ? `${line}\n` : `${isoMsInZone(Date.now())} ${line}\n`);
}
