import * as fs from 'node:fs';
import type { Context } from './context.js';
import { listens } from './events/match.js';
import type { Entry, ExecStatus, Execution, QueuedRef, Schedule } from './model.js';
import { FORMAT } from './model.js';
import { breakerAfter, breakerAllows } from './policy/breaker.js';
import { backoffMs } from './policy/retry.js';
import { admit, type Limits } from './queue/admission.js';
import { isReady, rankEntries } from './queue/order.js';
import { InputError, RunError, messageOf } from './errors.js';
import { pidsWithEnv } from './run/environ.js';
import { killGroup, selfIdentity, type Identity } from './run/proc.js';
import type { ResourceProbe } from './run/resources.js';
import { createSampler, type Sampler } from './run/sampler.js';
import { runHandler, type RunResult, type Running } from './run/spawn.js';
import { dueRuns, rewoundNext } from './schedule/next.js';
import type { Awaitable, BreakerRecord, PromotionPlan, RunningRecord } from './store/store.js';
import { buildRunGroup, endedWithoutRun, newEntry } from './app/entries.js';
import { trigger } from './app/events.js';
import { isoInZone, isoMsInZone, parseDuration } from './time.js';

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
  report: (ev: DispatchEvent) => void;
}

export type DispatchEvent =
  | { type: 'queued'; entry: Entry; reason: string }
  | { type: 'started'; entry: Entry; execution_id: string }
  | { type: 'exited'; entry_id: string }
  | { type: 'finished'; execution: Execution }
  | { type: 'recovered'; entry_id: string; what: string }
  | { type: 'note'; message: string };

export interface Summary {
  promoted: number;
  started: number;
  succeeded: number;
  failed: number;
  skipped: number;
  recovered: number;
  still_queued: number;
  blocked: number;
}

/** Set by signal handlers: stop starting, then (second signal) stop what runs. */
export interface StopSignal {
  stopping: boolean;
  killing: boolean;
  wake?: () => void;
}

interface Active {
  entry: Entry;
  schedule: Schedule;
  executionId: string;
  startedMs: number;
  run: Running;
}

interface Blocked {
  reason: string;
  since: string;
}

const RELIST_MS = 250;
const PROBE_MS = 100;
const PENDING_LOAD_MS = 2000;

/**
 * `process`: promote what is due, then start queued entries by effective
 * priority while the limits allow, until nothing more can start and every
 * started task has finished (or, as a daemon, until told to stop).
 */
export async function dispatch(ctx: Context, o: DispatchOptions, stop: StopSignal): Promise<Summary> {
  const { store, clock } = ctx;
  const me = selfIdentity();
  await store.attach(me.token);
  const sampler = createSampler();
  const active = new Map<string, Active>();
  const summary: Summary = { promoted: 0, started: 0, succeeded: 0, failed: 0, skipped: 0, recovered: 0, still_queued: 0, blocked: 0 };
  const statsBuffer = new StatsBuffer(ctx);
  let wake: (() => void) | null = null;
  let woken = false;
  // A poke while the loop is busy (not napping) must not be lost: the next nap returns at once.
  const poke = () => {
    woken = true;
    const w = wake;
    wake = null;
    w?.();
  };
  let generation = 0;
  stop.wake = poke;

  // What upkeep could not do (history not folded: a full disk) fails the pass at its end, after the runs.
  const upkeepFailed = await store.housekeep(me.token, isoInZone(clock()));
  summary.recovered += await recoverOrphans(ctx, o, me);
  let lastPromote = -Infinity;
  // The daemon wakes at the earliest due time it knows of, not only on its tick.
  let nextDue: number | null = null;
  let lastRecover = clock();
  let lastHeartbeat = -Infinity;
  let lastCancelCheck = -Infinity;
  let paused = false;
  let pausedAt = -Infinity;
  let loadWaitStart: number | null = null;
  const blockedStore = await BlockedState.load(ctx);
  // The ranked queue is rebuilt from disk when something may have changed it
  // (our own retries and chained events, promotion) and at least every
  // RELIST_MS for entries other processes queue; between rebuilds each round
  // walks the same ranking, skipping what was taken.
  let listedAt = -Infinity;
  let needList = true;
  let ranked: QueuedRef[] = [];
  let queuedIds = new Set<string>();
  // The concurrency limit is the home's, not one pass's: runs of other dispatchers count (as of the last listing).
  let othersRunning = 0;
  const taken = new Set<string>();
  // Estimates of what started in the last PENDING_LOAD_MS, with their running sum (a burst of
  // short tasks puts thousands here; summing them every round showed in profiles).
  const recentStarts: { at: number; cpu: number; mem: number }[] = [];
  let recentHead = 0;
  const recentSum = { cpu: 0, mem: 0 };
  // Readings change slowly and what was just started is added as `pending`;
  // reading /proc once per start would be thousands of opens a second.
  let probed: { at: number; value: { cpu: number; mem: number } } | null = null;
  const readProbe = (now: number) => {
    if (!probed || now - probed.at >= PROBE_MS || now < probed.at) probed = { at: now, value: o.probe.read() };
    return probed.value;
  };
  const schedules = new TtlCache<Schedule | null>(1000, (id) => store.readSchedule(id));
  const breakers = new TtlCache<BreakerRecord | null>(1000, (name) => store.readBreaker(name));

  const failures: string[] = [];
  // A slot is free as soon as its handler has exited; recording the run
  // (fsync of the history file, retries, events) goes on beside new starts.
  const settling = new Set<Promise<void>>();
  // A failure may open the run's breaker: hold that breaker's other entries until it is recorded.
  const breakerHeld = new Map<string, number>();
  const finish = async (a: Active, r: RunResult) => {
    const held = statusOf(r) !== 'success' ? a.schedule.circuit_breaker : null;
    if (held) breakerHeld.set(held, (breakerHeld.get(held) ?? 0) + 1);
    active.delete(a.entry.entry_id);
    o.report({ type: 'exited', entry_id: a.entry.entry_id });
    poke();
    try {
      const queuedMore = await finishRun(ctx, o, me, a, r, statsBuffer, summary, (name) => breakers.get(name));
      if (queuedMore) needList = true;
    } catch (err) {
      // The entry stays in running/ under our name; once we exit, the next pass recovers it.
      failures.push(`${a.executionId}: ${messageOf(err)}`);
      o.report({ type: 'note', message: `could not record ${a.executionId}: ${messageOf(err)}; the next pass will recover it` });
      stop.stopping = true;
    }
    // A success leaves a breaker with no record (never failed) as it was: keep the cached answer.
    if (held || breakers.peek(a.schedule.circuit_breaker) !== null) breakers.forget(a.schedule.circuit_breaker);
    if (held) {
      const n = (breakerHeld.get(held) ?? 1) - 1;
      if (n > 0) breakerHeld.set(held, n);
      else breakerHeld.delete(held);
    }
    generation++;
    poke();
  };

  for (;;) {
    const now = clock();
    const dueNow = nextDue !== null && now >= nextDue;
    if (!stop.stopping && (now - lastPromote >= (o.daemon ? o.tickMs : Infinity) || dueNow)) {
      const p = await promoteDue(ctx, now, o);
      if (p.count > 0) needList = true;
      summary.promoted += p.count;
      nextDue = p.nextDue;
      lastPromote = now;
    }
    if (o.daemon && now - lastRecover > 10_000) {
      // Batches a killed `trigger` committed, journals of finished passes: a daemon never restarts to see them.
      for (const why of await store.housekeep(me.token, isoInZone(now))) o.report({ type: 'note', message: why });
      summary.recovered += await recoverOrphans(ctx, o, me);
      lastRecover = now;
    }
    await store.heartbeat(me.token);
    if (now - lastHeartbeat > 5000) {
      await store.writeState('heartbeat', { format: FORMAT, at: isoInZone(now), pid: process.pid, host: me.host, mode: o.daemon ? 'daemon' : 'pass' });
      lastHeartbeat = now;
    }
    if (active.size > 0 && now - lastCancelCheck >= 250) {
      for (const id of await store.cancelRequests()) active.get(id)?.run.stop('cancel');
      lastCancelCheck = now;
    }

    let startedNow = 0;
    let blockedByLoad = false;
    let freshList = false;
    const genAtStart = generation;
    if (now - pausedAt >= 250 || now < pausedAt) {
      paused = await store.isPaused();
      pausedAt = now;
    }
    blockedStore.beginRound();
    if (!stop.stopping && !paused) {
      if (needList || now - listedAt >= RELIST_MS) {
        ranked = rankEntries(await store.listQueued(), now, o.starvationMs);
        queuedIds = ranked.some((r) => r.grouped) ? new Set(ranked.map((r) => r.entry_id)) : new Set();
        othersRunning = (await store.runningOwners()).filter((owner) => owner !== me.token).length;
        taken.clear();
        listedAt = now;
        needList = false;
        freshList = true;
      }
      while (recentHead < recentStarts.length && now - recentStarts[recentHead].at > PENDING_LOAD_MS) {
        recentSum.cpu -= recentStarts[recentHead].cpu;
        recentSum.mem -= recentStarts[recentHead].mem;
        recentHead++;
      }
      if (recentHead > 1024 && recentHead * 2 > recentStarts.length) {
        recentStarts.splice(0, recentHead);
        recentHead = 0;
      }
      const pending = { cpu: Math.max(0, recentSum.cpu), mem: Math.max(0, recentSum.mem) };
      let readings: { cpu: number; mem: number } | null = null;
      let reservedBy: string | null = null;
      const runningTasks = new Set([...active.values()].map((a) => a.entry.task_id));

      for (const e of ranked) {
        if (taken.has(e.entry_id) || !isReady(e, now)) continue;
        const block = (reason: string) => blockedStore.block(e.entry_id, reason, now);
        if (reservedBy) {
          block(`blocked: waiting behind ${reservedBy}, which has waited past the starvation threshold`);
          continue;
        }
        if (active.size + othersRunning >= o.limits.maxConcurrent) {
          // Everything further down waits for a slot too; say so once, not per entry.
          blockedStore.blockRest(`blocked: ${active.size + othersRunning} running = max-concurrent ${o.limits.maxConcurrent}`);
          break;
        }
        const skip = async (why: string) => {
          taken.add(e.entry_id);
          const t = await store.takeQueued(e.entry_id, e.name);
          if (t) await recordSkipped(ctx, t, why, summary, o);
          return t;
        };
        const full = e.grouped ? await store.readQueued(e) : null;
        if (e.grouped && !full) {
          taken.add(e.entry_id);
          continue;
        }
        if (full && full.after.length) {
          const upstream: { id: string; result: string | null }[] = [];
          for (const id of full.after) upstream.push({ id, result: await store.groupResult(id) });
          const broken = upstream.find((u) => u.result !== null && u.result !== 'success');
          if (broken) {
            await skip(`upstream ${broken.id} ended ${broken.result}`);
            continue;
          }
          // Gone = not queued, not running, and (read again, after those checks) no outcome: an
          // entry only moves forward, so one that finished meanwhile shows up in this last read.
          let lost: { id: string } | null = null;
          for (const u of upstream) {
            if (u.result === null && !queuedIds.has(u.id) && !(await store.entryIsLive(u.id)) && (await store.groupResult(u.id)) === null) {
              lost = u;
              break;
            }
          }
          if (lost) {
            await skip(`upstream ${lost.id} is gone`);
            continue;
          }
          const waitingFor = upstream.filter((u) => u.result === null).map((u) => u.id);
          if (waitingFor.length) {
            block(`waiting for ${waitingFor.join(', ')}`);
            continue;
          }
        }
        const s = await schedules.get(e.task_id);
        if (s && e.from_schedule && s.overlap === 'queue' && runningTasks.has(e.task_id)) {
          block(`waiting: a run of ${e.task_id} is still running (overlap: queue)`);
          continue;
        }
        if (s && breakerHeld.has(s.circuit_breaker)) continue;
        if (s) {
          const b = await breakers.get(s.circuit_breaker);
          if (b && !breakerAllows(b, e.entry_id, now, parseDuration(s.breaker_cooldown, 'breaker cooldown'))) {
            if (b.state === 'open') {
              const why = `circuit breaker '${s.circuit_breaker}' is open`;
              const t = await skip(why);
              // An entry that asked for retries must not be lost to a skip: park it.
              if (t && t.max_attempts > 1) {
                await store.toDlq({ ...t, dead_at: isoMsInZone(now), last_exit_code: t.last_exit_code ?? null, last_error: why, log_tail: '' });
              }
            } else block(`waiting: circuit breaker '${s.circuit_breaker}' is half-open, a trial run is in progress`);
            continue;
          }
        }
        readings ??= readProbe(now);
        // Estimates are the schedule's: an operator who corrects one corrects the queue too.
        const est = { cpu: s?.cpu ?? 0, mem: s?.mem ?? 0 };
        const adm = admit(est, readings, pending, active.size + othersRunning, o.limits);
        if (!adm.ok) {
          const since = block(adm.reason);
          if (adm.byLoad) {
            blockedByLoad = true;
            if (now - since >= o.starvationMs) reservedBy = e.entry_id;
            // The load alone is over a limit: nothing can start, whatever its estimate.
            if (!admit({ cpu: 0, mem: 0 }, readings, pending, active.size + othersRunning, o.limits).ok) {
              blockedStore.blockRest(adm.reason);
              break;
            }
          }
          continue;
        }
        taken.add(e.entry_id);
        blockedStore.forget(e.entry_id);
        const claimed = await store.claim(e, me.token, o.limits.maxConcurrent);
        if (claimed === 'full') {
          // Other hosts' runs filled the limit since the last listing.
          needList = true;
          blockedStore.blockRest(`blocked: running = max-concurrent ${o.limits.maxConcurrent}`);
          break;
        }
        if (!claimed) continue;
        if (!s) {
          await recordSkipped(ctx, claimed, `schedule '${e.task_id}' no longer exists`, summary, o, me.token);
          continue;
        }
        const b = await breakers.get(s.circuit_breaker);
        if (b && b.state === 'open') {
          await store.updateBreaker(s.circuit_breaker, (cur) => ({ ...cur, state: 'half-open', trial_entry: claimed.entry_id }));
          breakers.forget(s.circuit_breaker);
        }
        const a = start(ctx, o, sampler, claimed, s, now);
        active.set(a.entry.entry_id, a);
        runningTasks.add(a.entry.task_id);
        recentStarts.push({ at: now, ...est });
        recentSum.cpu += est.cpu;
        recentSum.mem += est.mem;
        pending.cpu += est.cpu;
        pending.mem += est.mem;
        summary.started++;
        startedNow++;
        void a.run.done.then((r) => {
          const p = finish(a, r).finally(() => settling.delete(p));
          settling.add(p);
        });
      }
    }
    await blockedStore.endRound(now, paused || stop.stopping);
    await statsBuffer.flushIfDue();

    if (stop.killing) for (const a of active.values()) a.run.stop('shutdown');
    if (active.size === 0 && settling.size > 0) await Promise.all(settling);
    if (active.size === 0) {
      if (stop.stopping) break;
      const settled = genAtStart === generation && (freshList || paused);
      if (!o.daemon && startedNow === 0 && settled) {
        if (!blockedByLoad) break;
        loadWaitStart ??= now;
        if (now - loadWaitStart >= o.patienceMs) break;
      }
      // About to go idle: look at the disk once more before deciding.
      if (!freshList) needList = true;
    }
    if (startedNow > 0) loadWaitStart = null;
    let nap = o.daemon ? o.tickMs : blockedByLoad ? 250 : 1000;
    if (o.daemon && nextDue !== null) nap = Math.max(0, Math.min(nap, nextDue - clock()));
    await new Promise<void>((resolve) => {
      const again = woken || (startedNow > 0 && active.size < o.limits.maxConcurrent) || (active.size === 0 && needList);
      woken = false;
      const t = setTimeout(resolve, again ? 0 : nap);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    wake = null;
  }
  await blockedStore.flush();
  await statsBuffer.flush().catch((err) => failures.push(`statistics: ${messageOf(err)}`));
  if (failures.length) throw new RunError(`could not record ${failures.length} execution(s), first: ${failures[0]}`);
  const left = await store.listQueued();
  summary.still_queued = left.length;
  summary.blocked = blockedStore.count(left.length);
  await store.writeState('heartbeat', { format: FORMAT, at: isoInZone(clock()), pid: process.pid, host: me.host, mode: o.daemon ? 'daemon' : 'pass', summary });
  if (upkeepFailed.length) throw new RunError(upkeepFailed[0] + (upkeepFailed.length > 1 ? ` (and ${upkeepFailed.length - 1} more)` : ''));
  return summary;
}

function start(ctx: Context, o: DispatchOptions, sampler: Sampler, e: Entry, s: Schedule, now: number): Active {
  const executionId = `${e.entry_id}.${e.runs + 1}`;
  const env: NodeJS.ProcessEnv = {
    CONDUCTOR_TASK_ID: e.task_id,
    CONDUCTOR_ENTRY_ID: e.entry_id,
    CONDUCTOR_EXECUTION_ID: executionId,
    CONDUCTOR_ATTEMPT: String(e.attempt),
    CONDUCTOR_EVENT: e.event ?? '',
    CONDUCTOR_PAYLOAD: e.payload ?? '',
    CONDUCTOR_EVENT_DEPTH: String(e.event_depth),
  };
  const run = runHandler({
    command: s.handler,
    cwd: s.cwd ?? process.cwd(),
    env,
    baseEnv: baseEnv(ctx, s),
    logPath: ctx.store.logPath(executionId),
    logCap: o.logCap,
    timeoutMs: s.timeout ? parseDuration(s.timeout, 'timeout') : null,
    graceMs: o.graceMs,
    sampler,
  });
  const entry = { ...e, status: 'running' as const, execution_id: executionId, started_at: isoMsInZone(now) };
  o.report({ type: 'started', entry, execution_id: executionId });
  return { entry, schedule: s, executionId, startedMs: now, run };
}

const baseEnvs = new WeakMap<Schedule, NodeJS.ProcessEnv>();

/** The environment every run of a schedule shares, built once per schedule object. */
function baseEnv(ctx: Context, s: Schedule): NodeJS.ProcessEnv {
  let env = baseEnvs.get(s);
  if (!env) {
    env = { ...process.env, ...s.env, CONDUCTOR_HOME: ctx.store.home };
    baseEnvs.set(s, env);
  }
  return env;
}

function statusOf(r: RunResult): ExecStatus {
  if (r.stopped === 'cancel') return 'cancelled';
  if (r.stopped === 'shutdown') return 'abandoned';
  if (r.timedOut) return 'timeout';
  if (r.error) return 'failed';
  return r.exitCode === 0 ? 'success' : 'failed';
}

/** Records one finished run; true if it queued more work (a retry, a chained event). */
async function finishRun(
  ctx: Context, o: DispatchOptions, me: Identity, a: Active, r: RunResult, stats: StatsBuffer, summary: Summary,
  readBreaker: (name: string) => Awaitable<BreakerRecord | null>,
): Promise<boolean> {
  const { store, clock } = ctx;
  const now = clock();
  const status = statusOf(r);
  const startedMs = now - r.durationMs;
  const x: Execution = {
    format: FORMAT,
    execution_id: a.executionId,
    entry_id: a.entry.entry_id,
    task_id: a.entry.task_id,
    attempt: a.entry.attempt,
    status,
    exit_code: r.exitCode,
    signal: r.signal,
    started_at: isoMsInZone(startedMs),
    finished_at: isoMsInZone(now),
    duration_ms: r.durationMs,
    peak_cpu_percent: r.peaks.cpu,
    peak_memory_mb: r.peaks.memMb,
    log: store.logPath(a.executionId),
    error: r.error ?? (status === 'timeout' ? `timed out after ${a.schedule.timeout}` : status === 'failed' ? `exit code ${r.exitCode ?? r.signal}` : null),
    event: a.entry.event,
    scheduled_for: a.entry.scheduled_for,
  };
  await store.recordExecution(x);
  const queuedMore = await afterExecution(ctx, a.entry, a.schedule, x, stats, o, readBreaker);
  await store.releaseRunning(a.entry.entry_id, me.token);
  if (status === 'cancelled') await store.clearCancel(a.entry.entry_id);
  if (status === 'success') summary.succeeded++;
  else summary.failed++;
  o.report({ type: 'finished', execution: x });
  return queuedMore;
}

/** Retry, dead-letter, breaker, statistics and lifecycle events after one execution; true if it queued more. */
async function afterExecution(
  ctx: Context, e: Entry, s: Schedule | null, x: Execution, stats: StatsBuffer, o: Pick<DispatchOptions, 'report'>,
  readBreaker: (name: string) => Awaitable<BreakerRecord | null> = (name) => ctx.store.readBreaker(name),
): Promise<boolean> {
  const { store, clock } = ctx;
  const now = clock();
  const failed = x.status === 'failed' || x.status === 'timeout' || x.status === 'abandoned';
  const ranIt = x.status !== 'cancelled' && x.status !== 'skipped';
  const runs = e.runs + 1;
  let queuedMore = false;
  if (failed && e.attempt < e.max_attempts) {
    queuedMore = true;
    const delay = s ? backoffMs(s, e.attempt) : 1000;
    await store.enqueue({
      ...stripRun(e),
      attempt: e.attempt + 1,
      runs,
      source: e.source,
      not_before: isoMsInZone(now + delay),
      last_error: x.error,
      last_exit_code: x.exit_code,
    });
  } else if (failed && e.max_attempts > 1) {
    await store.toDlq({
      ...stripRun(e),
      runs,
      dead_at: isoInZone(now),
      last_exit_code: x.exit_code,
      last_error: x.error,
      log_tail: tail(x.log, 2048),
    });
  }
  await store.settleGroup(e, x.status, e.attempt < e.max_attempts && failed);
  if (s && ranIt) {
    const b = await readBreaker(s.circuit_breaker);
    if (failed || (b && (b.state !== 'closed' || b.consecutive_failures > 0))) {
      await store.updateBreaker(s.circuit_breaker, (cur) => breakerAfter(cur, !failed, s.breaker_threshold, isoMsInZone(now)));
    }
    stats.add(s.task_id, x, failed);
  }
  if (ranIt && x.status !== 'abandoned') {
    const event = x.status === 'success' ? 'task.completed' : 'task.failed';
    const payload = JSON.stringify({ task_id: x.task_id, entry_id: x.entry_id, execution_id: x.execution_id, exit_code: x.exit_code, status: x.status });
    if (await hasListeners(ctx, event, x.task_id)) {
      const res = await trigger(ctx, event, payload, e.event_depth + 1, x.task_id);
      if (res.note) o.report({ type: 'note', message: res.note });
      if (res.queued.length) queuedMore = true;
    }
  }
  return queuedMore;
}

let listenerCache: { at: number; patterns: string[] } | null = null;

/** Lifecycle events fire after every execution; most homes have no listener, so check a cached list first. */
async function hasListeners(ctx: Context, event: string, taskId: string): Promise<boolean> {
  const now = Date.now();
  if (!listenerCache || now - listenerCache.at > 1000) {
    listenerCache = {
      at: now,
      patterns: (await ctx.store.listSchedules()).filter((s) => s.enabled && s.schedule_type === 'event').map((s) => s.schedule_expr),
    };
  }
  return listenerCache.patterns.some((p) => listens(p, event, taskId));
}

function stripRun(e: Entry): Entry {
  const { execution_id: _x, started_at: _s, dispatcher: _d, handler_pid: _p, handler_start_ticks: _t, ...rest } = e;
  return { ...rest, status: 'queued' };
}

function tail(file: string | null, bytes: number): string {
  if (!file) return '';
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(bytes, size));
    fs.readSync(fd, buf, 0, buf.length, Math.max(0, size - bytes));
    fs.closeSync(fd);
    return buf.toString('utf8');
  } catch {
    return '';
  }
}

/** A run that could not start (breaker open, schedule gone): recorded, not retried. */
async function recordSkipped(ctx: Context, e: Entry, why: string, summary: Summary, o: DispatchOptions, owner?: string): Promise<void> {
  const { store, clock } = ctx;
  const x = endedWithoutRun(e, 'skipped', why, clock());
  await store.recordExecution(x);
  await store.settleGroup(e, 'skipped', false);
  if (owner) await store.releaseRunning(e.entry_id, owner);
  summary.skipped++;
  o.report({ type: 'finished', execution: x });
}

/**
 * Queues what time has made due. Each schedule is advanced and its runs
 * queued in one step of the store (`promote`), so overlapping passes never
 * queue a run twice; runs that a crash left in `pending` are finished.
 */
export async function promoteDue(ctx: Context, now: number, o: Pick<DispatchOptions, 'report'>): Promise<{ count: number; nextDue: number | null }> {
  const { store } = ctx;
  let count = 0;
  let nextDue: number | null = null;
  const note = (iso: string | null | undefined) => {
    const t = iso ? Date.parse(iso) : NaN;
    if (!Number.isNaN(t) && t > now && (nextDue === null || t < nextDue)) nextDue = t;
  };
  for (const s0 of await store.listSchedules()) {
    if (!needsPromotion(s0, now)) {
      if (s0.enabled) note(s0.next_execution);
      continue;
    }
    let after: Schedule | null = null;
    // A run group whose upstream schedule is gone (deleted by hand, quarantined) cannot be built:
    // say so and go on with the other schedules (this one is left as it was and tried again).
    const queued = await store.promote(s0.task_id, async (s) => {
      // Read the clock again under the lock: others may have promoted past `now` while we waited,
      // and planning at the older instant would read their progress as a clock that went back.
      const p = await planPromotion(ctx, s, Math.max(now, ctx.clock()), o);
      after = p?.schedule ?? s;
      return p;
    }).catch((err: unknown) => {
      if (!(err instanceof InputError)) throw err;
      o.report({ type: 'note', message: `${s0.task_id}: not queued: ${err.message}` });
      return [] as Entry[];
    });
    for (const e of queued) {
      count++;
      o.report({ type: 'queued', entry: e, reason: `due at ${e.scheduled_for}` });
    }
    const a = after as Schedule | null;
    if (a?.enabled) note(a.next_execution);
  }
  return { count, nextDue };
}

/** Due, left half-promoted by a crash, or stranded ahead by a clock that went back. */
function needsPromotion(s: Schedule, now: number): boolean {
  if (s.pending?.length) return true;
  if (!s.enabled || !s.next_execution) return false;
  return Date.parse(s.next_execution) <= now || rewoundChecked(s, now) !== null;
}

// The rewind check walks the cron spec; a daemon asks every second for every schedule. Once
// a stored next run is found right at some instant it stays right for every later instant.
const rightAt = new Map<string, number>();

function rewoundChecked(s: Schedule, now: number): number | null {
  const key = `${s.task_id}|${s.schedule_type}|${s.schedule_expr}|${s.tz}|${s.next_execution}`;
  const at = rightAt.get(key);
  if (at !== undefined && now >= at) return null;
  const r = rewoundNext(s, now);
  if (r === null) {
    if (rightAt.size > 10_000) rightAt.clear();
    rightAt.set(key, now);
  }
  return r;
}

/** What promoting one schedule at `now` means: its new state and the entries to queue. */
async function planPromotion(ctx: Context, cur: Schedule, now: number, o: Pick<DispatchOptions, 'report'>): Promise<PromotionPlan | undefined> {
  const recover = await pendingEntries(ctx, cur, now);
  const rewound = rewoundNext(cur, now);
  const s = rewound === null ? cur : { ...cur, next_execution: isoInZone(rewound, cur.tz) };
  if (rewound !== null) o.report({ type: 'note', message: `${s.task_id}: the clock went back; next run moved from ${cur.next_execution} to ${s.next_execution}` });
  const d = dueRuns(s, now);
  if (!d) return recover.length || rewound !== null ? { schedule: { ...s, pending: null }, fresh: [], recover } : undefined;
  let runs = d.runs;
  if (s.overlap === 'skip' && runs.length > 0 && (recover.length > 0 || await ctx.store.hasLiveEntryFor(s.task_id))) {
    o.report({ type: 'note', message: `${s.task_id}: run due at ${isoInZone(runs[runs.length - 1], s.tz)} skipped, previous run still queued or running (overlap: skip)` });
    runs = [];
  } else if (s.overlap === 'skip') runs = runs.slice(-1);
  const fresh: Entry[] = [];
  for (const at of runs) {
    if (s.depends_on?.length) fresh.push(...await buildRunGroup(ctx, s, now, { source: 'schedule', scheduledFor: at }));
    else fresh.push(newEntry(s, now, { source: 'schedule', scheduledFor: at }));
  }
  return {
    schedule: {
      ...s,
      next_execution: d.next === null ? null : isoInZone(d.next, s.tz),
      once_fired: s.schedule_type === 'once' ? true : s.once_fired,
      pending: null,
    },
    fresh,
    recover,
  };
}

/**
 * The entries a promotion cut short by a crash meant to queue. They are
 * stored whole; a home written by an older conductor kept only ids and due
 * times, and its run groups are rebuilt (their upstream entries get new ids).
 */
async function pendingEntries(ctx: Context, s: Schedule, now: number): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const p of (s.pending ?? []) as (Entry | { entry_id: string; scheduled_for: string })[]) {
    if ('task_id' in p) {
      out.push(p);
      continue;
    }
    const o2 = { source: 'schedule' as const, scheduledFor: Date.parse(p.scheduled_for), entryId: p.entry_id };
    out.push(...(s.depends_on?.length ? await buildRunGroup(ctx, s, now, o2) : [newEntry(s, now, o2)]));
  }
  return out;
}

/**
 * A running entry whose dispatcher is gone (pid + start time + boot no longer
 * match) is taken over: whatever is left of its handler is killed, the
 * execution is recorded as abandoned, and the entry retried per its policy.
 */
export async function recoverOrphans(ctx: Context, o: Pick<DispatchOptions, 'report'>, me: Identity): Promise<number> {
  const { store } = ctx;
  let n = 0;
  for (const rec of await store.listRunning()) {
    if (rec.owner === me.token || (await store.ownerAlive(rec.owner))) continue;
    if (!await store.takeOver(rec, me.token)) continue;
    await settleOrphan(ctx, rec, me, 'abandoned', `dispatcher ${rec.owner} is gone`);
    n++;
    o.report({ type: 'recovered', entry_id: rec.entry.entry_id, what: 'abandoned' });
  }
  return n;
}

/** Ends a running entry nobody owns any more: kill leftovers, record, apply policy, release. */
export async function settleOrphan(ctx: Context, rec: RunningRecord, me: Identity, status: 'abandoned' | 'cancelled', why: string): Promise<void> {
  const { store, clock } = ctx;
  const e = rec.entry;
  const executionId = `${e.entry_id}.${e.runs + 1}`;
  for (const pid of pidsWithEnv('CONDUCTOR_EXECUTION_ID', executionId)) killGroup(pid, 'SIGKILL');
  const done = await store.getExecution(executionId);
  if (done) {
    // Recorded, but the dispatcher died before the retry or dead letter was written.
    const failed = done.status === 'failed' || done.status === 'timeout' || done.status === 'abandoned';
    if (failed && !await store.entryIsLive(e.entry_id, me.token)) {
      await afterExecution(ctx, e, await store.readSchedule(e.task_id), done, new StatsBuffer(ctx), { report: () => undefined });
    }
  } else {
    const log = store.logPath(executionId);
    const x = endedWithoutRun(e, status, why, clock(), fs.existsSync(log) ? log : null);
    await store.recordExecution(x);
    const s = await store.readSchedule(e.task_id);
    const stats = new StatsBuffer(ctx);
    await afterExecution(ctx, e, s, x, stats, { report: () => undefined });
    await stats.flush();
  }
  await store.releaseRunning(e.entry_id, me.token);
  await store.clearCancel(e.entry_id);
}

/**
 * Schedule counters are updated in batches (one locked write per schedule
 * per half second) so a burst of short tasks does not queue on the lock.
 */
/**
 * Schedule counters, batched per schedule and written at most every 500 ms.
 * Each buffered execution carries its own failed flag: runs finish while a
 * flush awaits its writes, so no state may be shared between flush and add.
 */
class StatsBuffer {
  private pending = new Map<string, { x: Execution; failed: boolean }[]>();
  private lastFlush = Date.now();
  constructor(private ctx: Context) {}

  add(taskId: string, x: Execution, failed: boolean): void {
    const list = this.pending.get(taskId) ?? [];
    list.push({ x, failed });
    this.pending.set(taskId, list);
  }

  async flushIfDue(): Promise<void> {
    if (Date.now() - this.lastFlush >= 500) await this.flush();
  }

  async flush(): Promise<void> {
    this.lastFlush = Date.now();
    const batches = [...this.pending];
    this.pending.clear();
    for (const [taskId, runs] of batches) {
      await this.ctx.store.updateSchedule(taskId, (s) => countRuns(s, runs));
    }
  }
}

/** The schedule with a batch of its executions added to its counters and averages. */
function countRuns(s: Schedule, runs: { x: Execution; failed: boolean }[]): Schedule {
  let count = s.execution_count;
  let avg = s.average_duration_ms;
  let failures = s.failure_count;
  let cpuAvg = s.measured_cpu_percent;
  let memAvg = s.measured_memory_mb;
  let last = s.last_executed;
  for (const { x, failed } of runs) {
    count++;
    avg = Math.round(avg + (x.duration_ms - avg) / count);
    if (failed) failures++;
    if (x.peak_cpu_percent !== null) cpuAvg = cpuAvg === null ? x.peak_cpu_percent : round1(cpuAvg + (x.peak_cpu_percent - cpuAvg) / count);
    if (x.peak_memory_mb !== null) memAvg = memAvg === null ? x.peak_memory_mb : round1(memAvg + (x.peak_memory_mb - memAvg) / count);
    if (!last || Date.parse(x.started_at) > Date.parse(last)) last = x.started_at;
  }
  return {
    ...s, execution_count: count, failure_count: failures, average_duration_ms: avg,
    measured_cpu_percent: cpuAvg, measured_memory_mb: memAvg, last_executed: last,
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** A read-through cache whose values live `ttlMs`; the dispatcher reads schedules and breakers through it. */
class TtlCache<T> {
  private map = new Map<string, { at: number; value: T }>();
  constructor(private ttlMs: number, private load: (key: string) => Awaitable<T>) {}
  async get(key: string): Promise<T> {
    const hit = this.map.get(key);
    const now = Date.now();
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = await this.load(key);
    this.map.set(key, { at: now, value });
    return value;
  }
  forget(key: string): void {
    this.map.delete(key);
  }
  /** The cached value, or undefined when nothing is cached. */
  peek(key: string): T | undefined {
    return this.map.get(key)?.value;
  }
}

/**
 * Why waiting entries wait, for `status`: kept in memory each round and
 * written at most once a second (and at the end), since with thousands of
 * entries rewriting it every round would cost more than the runs.
 */
class BlockedState {
  private since = new Map<string, number>();
  private reasons: Record<string, Blocked> = {};
  private rest: string | null = null;
  private lastWrite = 0;
  private lastJson = '';
  private constructor(private ctx: Context) {}
  static async load(ctx: Context): Promise<BlockedState> {
    const b = new BlockedState(ctx);
    const prev = await ctx.store.readState<{ entries?: Record<string, Blocked> }>('blocked');
    for (const [id, r] of Object.entries(prev?.entries ?? {})) b.since.set(id, Date.parse(r.since));
    return b;
  }
  static readonly MAX_REASONS = 2000;
  private kept = 0;
  beginRound(): void {
    this.reasons = {};
    this.rest = null;
    this.kept = 0;
  }
  /** Records a reason; returns since when the entry has been blocked. */
  block(entryId: string, reason: string, now: number): number {
    const since = this.since.get(entryId) ?? now;
    this.since.set(entryId, since);
    // Past a few thousand, per-entry reasons cost more memory than they tell; the rest share one.
    if (this.kept < BlockedState.MAX_REASONS) {
      this.reasons[entryId] = { reason, since: isoMsInZone(since) };
      this.kept++;
    } else this.rest ??= reason;
    return since;
  }
  blockRest(reason: string): void {
    this.rest = reason;
  }
  forget(entryId: string): void {
    this.since.delete(entryId);
  }
  async endRound(now: number, idle: boolean): Promise<void> {
    if (!idle && now - this.lastWrite >= 1000) await this.flush();
  }
  async flush(): Promise<void> {
    const json = JSON.stringify({ entries: this.reasons, rest: this.rest });
    if (json === this.lastJson) return;
    await this.ctx.store.writeState('blocked', { format: FORMAT, entries: this.reasons, rest: this.rest });
    this.lastJson = json;
    this.lastWrite = Date.now();
  }
  count(queued: number): number {
    return this.rest ? queued : Object.keys(this.reasons).length;
  }
}

