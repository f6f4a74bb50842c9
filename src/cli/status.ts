import type { Command } from 'commander';
import { effectivePriority } from '../queue/order.js';
import { parseDuration } from '../time.js';
import { globals, openContext, printJson, printTable, reportProblems, setupColor } from './common.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show every entry not yet finished, queued or running, and why waiting ones wait')
    .option('--starvation-threshold <dur>', 'for the effective priority shown', '30m')
    .action((opts, cmd: Command) => {
      const g = globals(cmd);
      const threshold = parseDuration(opts.starvationThreshold, 'starvation threshold');
      const ctx = openContext(cmd);
      const now = ctx.clock();
      const state = ctx.store.readState<{ entries?: Record<string, { reason: string }>; rest?: string | null }>('blocked');
      const blocked = state?.entries ?? {};
      const running = ctx.store.listRunning().map((r) => ({ ...r.entry, status: 'running' as const }));
      const queued = ctx.store.listQueued().sort((a, b) => a.enqueued_at.localeCompare(b.enqueued_at));
      const rows = [...running, ...queued].map((e) => {
        const view: Record<string, unknown> = {
          entry_id: e.entry_id,
          task_id: e.task_id,
          priority: e.priority,
          effective_priority: effectivePriority(e, now, threshold),
          enqueued_at: e.enqueued_at,
          estimated_cpu_percent: e.estimated_cpu_percent,
          estimated_memory_percent: e.estimated_memory_percent,
          status: e.status,
          attempt: e.attempt,
          max_attempts: e.max_attempts,
          not_before: e.not_before,
          source: e.source,
          group: e.group,
          after: e.after,
        };
        if (e.status === 'running') view.started_at = e.started_at ?? null;
        if (e.status === 'queued') {
          const why = e.not_before && Date.parse(e.not_before) > now ? `retry not before ${e.not_before}` : blocked[e.entry_id]?.reason ?? state?.rest;
          if (why) view.blocked_reason = why;
        }
        return view;
      });
      reportProblems(ctx);
      if (g.json) {
        printJson(rows);
        return;
      }
      const c = setupColor(g);
      const paused = ctx.store.isPaused();
      if (paused) process.stdout.write(c.yellow('home is paused: nothing new starts (conductor resume)\n'));
      if (rows.length === 0) {
        process.stdout.write('queue is empty\n');
        return;
      }
      printTable(
        ['ENTRY', 'TASK', 'PRIO', 'EFF', 'STATUS', 'ENQUEUED', 'ATTEMPT', 'WHY WAITING'],
        rows.map((r) => [
          r.entry_id as string, r.task_id as string, r.priority as number, r.effective_priority as number,
          r.status === 'running' ? c.blue('running') : 'queued', r.enqueued_at as string,
          `${r.attempt}/${r.max_attempts}`, (r.blocked_reason as string) ?? (r.group ? `group ${r.group}` : null),
        ]),
      );
    });
}
