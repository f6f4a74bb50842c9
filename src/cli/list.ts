import type { Command } from 'commander';
import { globals, openContext, printJson, printTable, reportProblems, setupColor, styled } from './common.js';
import { breakerStateOf, describeCron, publicSchedule } from './view.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list schedules with their next run')
    .action(async (_opts, cmd: Command) => {
      const g = globals(cmd);
      const ctx = await openContext(cmd);
      const schedules = await ctx.store.listSchedules();
      reportProblems(ctx);
      if (g.json) {
        const out = [];
        for (const s of schedules) out.push(await publicSchedule(ctx, s));
        printJson(out);
        return;
      }
      const c = setupColor(g);
      if (schedules.length === 0) {
        process.stdout.write('no schedules\n');
        return;
      }
      const breakers = new Map<string, string>();
      for (const s of schedules) breakers.set(s.task_id, await breakerStateOf(ctx, s));
      printTable(
        ['ID', 'NAME', 'TYPE', 'EXPR', 'WHEN', 'PRIO', 'ENABLED', 'NEXT RUN', 'LAST RUN', 'RUNS', 'FAILS', 'BREAKER'],
        schedules.map((s) => {
          const breaker = breakers.get(s.task_id)!;
          return [
            s.task_id, s.task_name, s.schedule_type, s.schedule_expr + (s.tz && s.schedule_type === 'cron' ? ` (${s.tz})` : ''),
            s.schedule_type === 'cron' ? describeCron(s.schedule_expr) : null,
            s.priority, styled(s.enabled ? c.green('yes') : c.yellow('no')), s.next_execution, s.last_executed,
            s.execution_count, s.failure_count ? styled(c.red(String(s.failure_count))) : 0,
            breaker === 'closed' ? breaker : styled(c.red(breaker)),
          ];
        }),
      );
      const quarantined = (await ctx.store.listQuarantine()).length;
      if (quarantined) process.stderr.write(`conductor: ${quarantined} file(s) in quarantine/ (see 'conductor health')\n`);
    });
}
