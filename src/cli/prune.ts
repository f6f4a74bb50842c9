import type { Command } from 'commander';
import { planPrune, prune, pruneSummary } from '../app/prune.js';
import { InputError } from '../errors.js';
import { globals, openContext, printJson, reportProblems } from './common.js';

export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('delete executions that finished before now - DUR, their logs and old events (history archives are rewritten)')
    .option('--older-than <dur>', 'what finished longer ago than this goes, e.g. 30d')
    .option('--keep <n>', 'keep the N newest executions of each task, however old', '0')
    .action(async (opts, cmd: Command) => {
      if (opts.olderThan === undefined)
        throw new InputError('prune needs --older-than DUR, e.g. conductor prune --older-than 30d');
      const plan = planPrune(opts.olderThan, opts.keep);
      const ctx = await openContext(cmd, 'full', 'existing');
      // It rewrites and deletes files of the home: as `process`, only in a home that is ours alone
      // (root's prune would leave archives the owner's passes cannot read).
      await ctx.store.trustForRun();
      const report = await prune(ctx, plan);
      reportProblems(ctx);
      if (globals(cmd).json) printJson(report);
      else process.stdout.write(`${pruneSummary(report)}\n`);
    });
}
