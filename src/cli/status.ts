import type { Command } from 'commander';
import { queueStatus } from '../app/status.js';
import { parseDuration } from '../time.js';
import { globals, openContext, printJson, printTable, reportProblems, setupColor, styled } from './common.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show every entry not yet finished, queued or running, and why waiting ones wait')
    .option('--starvation-threshold <dur>', 'for the effective priority shown', '30m')
    .action(async (opts, cmd: Command) => {
      const g = globals(cmd);
      const starvationMs = parseDuration(opts.starvationThreshold, 'starvation threshold');
      const ctx = await openContext(cmd, 'light', 'existing');
      const { rows, paused } = await queueStatus(ctx, { starvationMs, withPaused: !g.json });
      reportProblems(ctx);
      if (g.json) {
        printJson(rows);
        return;
      }
      const c = setupColor(g);
      if (paused) process.stdout.write(c.yellow('home is paused: nothing new starts (conductor resume)\n'));
      if (rows.length === 0) {
        process.stdout.write('queue is empty\n');
        return;
      }
      printTable(
        ['ENTRY', 'TASK', 'PRIO', 'EFF', 'STATUS', 'ENQUEUED', 'ATTEMPT', 'WHY WAITING'],
        rows.map((r) => [
          r.entry_id,
          r.task_id,
          r.priority,
          r.effective_priority,
          styled(r.status === 'running' ? c.blue('running') : 'queued'),
          r.enqueued_at,
          `${r.attempt}/${r.max_attempts}`,
          r.blocked_reason ?? (r.group ? `group ${r.group}` : null),
        ]),
      );
    });
}
