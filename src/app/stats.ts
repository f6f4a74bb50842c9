import type { Context } from '../context.js';
import type { Schedule } from '../model.js';
import { breakerStateAt } from '../policy/breaker.js';
import { retiredKey } from '../store/store.js';
import { parseDuration } from '../time.js';

export interface Stats {
  schedules: number;
  enabled: number;
  queued: number;
  executing: number;
  completed: number;
  failed: number;
  dlq: number;
  average_duration_ms: number;
  priority_distribution: Record<string, number>;
  queue_priority_distribution: Record<string, number>;
  by_type: Record<string, number>;
  breakers: Record<string, string>;
  breakers_open: number;
  quarantined: number;
  paused: boolean;
}

/** Counts from the schedules' counters (and those of deleted schedules) and the spool directories; no history scan. */
export async function collectStats(ctx: Context, listed?: Schedule[]): Promise<Stats> {
  const { store } = ctx;
  const now = ctx.clock();
  const schedules = listed ?? (await store.listSchedules());
  const queued = await store.listQueued();
  let completed = 0;
  let failed = 0;
  let weighted = 0;
  const prio: Record<string, number> = {};
  const qprio: Record<string, number> = {};
  const byType: Record<string, number> = {};
  const breakers: Record<string, string> = {};
  for (const s of schedules) {
    completed += s.execution_count - s.failure_count;
    failed += s.failure_count;
    weighted += s.average_duration_ms * s.execution_count;
    prio[s.priority] = (prio[s.priority] ?? 0) + 1;
    byType[s.schedule_type] = (byType[s.schedule_type] ?? 0) + 1;
    if (!(s.circuit_breaker in breakers)) {
      breakers[s.circuit_breaker] = breakerStateAt(
        await store.readBreaker(s.circuit_breaker),
        now,
        parseDuration(s.breaker_cooldown, 'breaker cooldown'),
      );
    }
  }
  // Counters of deleted schedules: a home's totals never go down.
  const live = new Set(schedules.map((s) => retiredKey(s)));
  for (const r of await store.retiredCounters()) {
    if (live.has(retiredKey(r))) continue;
    completed += r.execution_count - r.failure_count;
    failed += r.failure_count;
    weighted += r.average_duration_ms * r.execution_count;
  }
  for (const e of queued) qprio[e.priority] = (qprio[e.priority] ?? 0) + 1;
  const runs = completed + failed;
  return {
    schedules: schedules.length,
    enabled: schedules.filter((s) => s.enabled).length,
    queued: queued.length,
    executing: (await store.listRunning()).length,
    completed,
    failed,
    dlq: (await store.listDlq()).length,
    average_duration_ms: runs ? Math.round(weighted / runs) : 0,
    priority_distribution: prio,
    queue_priority_distribution: qprio,
    by_type: byType,
    breakers,
    breakers_open: Object.values(breakers).filter((b) => b !== 'closed').length,
    quarantined: (await store.listQuarantine()).length,
    paused: await store.isPaused(),
  };
}
