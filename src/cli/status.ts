import type { Command } from 'commander';
import { effectivePriority } from '../queue/order.js';
import type { Entry, Schedule } from '../model.js';
import { maxAttempts } from '../policy/retry.js';
import { isoMsInZone, parseDuration } from '../time.js';
import { globals, openContext, printJson, printTable, reportProblems, setupColor, styled } from './common.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show every entry not yet finished, queued or running, and why waiting ones wait')
    .option('--starvation-threshold <dur>', 'for the effective priority shown', '30m')
    .action(async (opts, cmd: Command) => {
      const g = globals(cmd);
      const threshold = parseDuration(opts.starvationThreshold, 'starvation threshold');
      const ctx = await openContext(cmd, 'light');
      const now = ctx.clock();
      const state = await ctx.store.readState<{ entries?: Record<string, { reason: string }>; rest?: string | null }>('blocked');
      const blocked = state?.entries ?? {};
      const running = (await ctx.store.listRunning()).map(({ entry: e }) => ({
        entry_id: e.entry_id,
        task_id: e.task_id,
        priority: e.priority,
        effective_priority: effectivePriority({ priority: e.priority, enqueued_ms: Date.parse(e.enqueued_at) }, now, threshold),
        enqueued_at: e.enqueued_at,
        estimated_cpu_percent: e.estimated_cpu_percent,
        estimated_memory_percent: e.estimated_memory_percent,
        status: 'running',
        attempt: e.attempt,
        max_attempts: e.max_attempts,
        not_before: null,
        source: e.source,
        group: e.group,
        after: e.after,
        started_at: e.started_at ?? null,
      } as Record<string, unknown>));
      // Queued entries come from their file names alone (one readdir, however long the queue).
      const queued = (await ctx.store.listQueued()).sort((a, b) => a.enqueued_ms - b.enqueued_ms || (a.entry_id < b.entry_id ? -1 : 1));
      // Each task's schedule is read once, however many of its entries wait.
      const schedules = new Map<string, Schedule | null>();
      for (const r of queued) if (!schedules.has(r.task_id)) schedules.set(r.task_id, await ctx.store.readSchedule(r.task_id));
      const groups = new Map<string, Entry | null>();
      for (const r of queued) if (r.grouped) groups.set(r.entry_id, await ctx.store.readQueued(r));
      const rows = [...running, ...queued.map((r) => {
        const s = schedules.get(r.task_id);
        const full = groups.get(r.entry_id);
        const view: Record<string, unknown> = {
          entry_id: r.entry_id,
          task_id: r.task_id,
          priority: r.priority,
          effective_priority: effectivePriority(r, now, threshold),
          enqueued_at: isoMsInZone(r.enqueued_ms),
          estimated_cpu_percent: s?.cpu ?? 0,
          estimated_memory_percent: s?.mem ?? 0,
          status: 'queued',
          attempt: r.attempt,
          max_attempts: s ? maxAttempts(s) : null,
          not_before: r.not_before_ms === null ? null : isoMsInZone(r.not_before_ms),
          source: r.source,
        };
        if (full) {
          view.group = full.group;
          view.after = full.after;
        }
        const why = r.not_before_ms !== null && r.not_before_ms > now
          ? `retry not before ${view.not_before}`
          : blocked[r.entry_id]?.reason ?? state?.rest;
        if (why) view.blocked_reason = why;
        return view;
      })];
      reportProblems(ctx);
      if (g.json) {
        printJson(rows);
        return;
      }
      const c = setupColor(g);
      const paused = await ctx.store.isPaused();
      if (paused) process.stdout.write(c.yellow('home is paused: nothing new starts (conductor resume)\n'));
      if (rows.length === 0) {
        process.stdout.write('queue is empty\n');
        return;
      }
      printTable(
        ['ENTRY', 'TASK', 'PRIO', 'EFF', 'STATUS', 'ENQUEUED', 'ATTEMPT', 'WHY WAITING'],
        rows.map((r) => [
          r.entry_id as string, r.task_id as string, r.priority as number, r.effective_priority as number,
          styled(r.status === 'running' ? c.blue('running') : 'queued'), r.enqueued_at as string,
          `${r.attempt}/${r.max_attempts}`, (r.blocked_reason as string) ?? (r.group ? `group ${r.group}` : null),
        ]),
      );
    });
}
