import type { Command } from 'commander';
import { listHistory } from '../app/history.js';
import { checkId } from '../ids.js';
import { parseIntIn } from '../schedule/definition.js';
import { formatDuration } from '../time.js';
import { globals, openContext, printJson, printTable, reportProblems, setupColor, styled } from './common.js';

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('list executions, newest first')
    .argument('[id]', 'only this task')
    .option('--limit <n>', 'at most this many (default: 50 in the table, all with --json)')
    .action(async (id: string | undefined, opts, cmd: Command) => {
      const g = globals(cmd);
      if (id !== undefined) checkId(id);
      // A person reads the latest screenful; a script asking for JSON gets everything unless it says otherwise.
      const limit = opts.limit !== undefined ? parseIntIn('limit', opts.limit, 1, 100_000_000) : g.json ? undefined : 50;
      const ctx = await openContext(cmd, 'full', 'existing');
      const xs = await listHistory(ctx, { taskId: id, limit });
      reportProblems(ctx);
      if (g.json) {
        printJson(xs);
        return;
      }
      const c = setupColor(g);
      if (xs.length === 0) {
        process.stdout.write('no executions\n');
        return;
      }
      printTable(
        ['EXECUTION', 'TASK', 'ATTEMPT', 'STATUS', 'EXIT', 'STARTED', 'DURATION', 'PEAK CPU', 'PEAK MEM'],
        xs.map((x) => [
          x.execution_id,
          x.task_id,
          x.attempt,
          styled(
            x.status === 'success'
              ? c.green(x.status)
              : x.status === 'skipped' || x.status === 'cancelled'
                ? c.yellow(x.status)
                : c.red(x.status),
          ),
          x.exit_code,
          x.started_at,
          formatDuration(x.duration_ms),
          x.peak_cpu_percent === null ? null : `${x.peak_cpu_percent}%`,
          x.peak_memory_mb === null ? null : `${x.peak_memory_mb} MB`,
        ]),
      );
    });
}
