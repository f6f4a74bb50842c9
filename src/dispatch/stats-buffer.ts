import type { Context } from '../context.js';
import type { Execution, Schedule } from '../model.js';

/**
 * Schedule counters, batched per schedule and written at most every 500 ms, so a burst of
 * short tasks does not queue on the schedule's lock. Each buffered execution carries its own
 * failed flag: runs finish while a flush awaits its writes, so no state may be shared between
 * flush and add. The 500 ms are the process's wall time (`Date.now`), not the home's clock.
 */
export class StatsBuffer {
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
export function countRuns(s: Schedule, runs: { x: Execution; failed: boolean }[]): Schedule {
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
    if (x.peak_cpu_percent !== null)
      cpuAvg = cpuAvg === null ? x.peak_cpu_percent : round1(cpuAvg + (x.peak_cpu_percent - cpuAvg) / count);
    if (x.peak_memory_mb !== null)
      memAvg = memAvg === null ? x.peak_memory_mb : round1(memAvg + (x.peak_memory_mb - memAvg) / count);
    if (!last || Date.parse(x.started_at) > Date.parse(last)) last = x.started_at;
  }
  return {
    ...s,
    execution_count: count,
    failure_count: failures,
    average_duration_ms: avg,
    measured_cpu_percent: cpuAvg,
    measured_memory_mb: memAvg,
    last_executed: last,
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
