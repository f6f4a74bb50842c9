import type { Command } from 'commander';
import { countQuarantined, listSchedules } from '../app/schedules.js';
import { globals, openContext, printJson, printTable, reportProblems, setupColor, styled } from './common.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list schedules with their next run')
    .action(async (_opts, cmd: Command) => {
      const g = globals(cmd);
      const ctx = await openContext(cmd, 'full', 'existing');
      const schedules = await listSchedules(ctx);
      reportProblems(ctx);
      if (g.json) {
        printJson(schedules);
        return;
      }
      const c = setupColor(g);
      if (schedules.length === 0) {
        process.stdout.write('no schedules\n');
        return;
      }
      printTable(
        ['ID', 'NAME', 'TYPE', 'EXPR', 'WHEN', 'PRIO', 'ENABLED', 'NEXT RUN', 'LAST RUN', 'RUNS', 'FAILS', 'BREAKER'],
        schedules.map((s) => [
          s.task_id,
          s.task_name,
          s.schedule_type,
          s.schedule_expr + (s.tz && s.schedule_type === 'cron' ? ` (${s.tz})` : ''),
          s.schedule_type === 'cron' ? s.description : null,
          s.priority,
          styled(s.enabled ? c.green('yes') : c.yellow('no')),
          s.next_execution,
          s.last_executed,
          s.execution_count,
          s.failure_count ? styled(c.red(String(s.failure_count))) : 0,
          s.breaker_state === 'closed' ? s.breaker_state : styled(c.red(s.breaker_state)),
        ]),
      );
      const quarantined = await countQuarantined(ctx);
      if (quarantined) process.stderr.write(`conductor: ${quarantined} file(s) in quarantine/ (see 'conductor health')\n`);
    });
}
