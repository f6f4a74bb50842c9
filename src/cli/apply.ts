import type { Command } from 'commander';
import { applySchedules, problemsError, readScheduleFile } from '../app/apply.js';
import { printable } from '../text.js';
import { globals, openContext, printJson, setupColor, warnMissingCwd } from './common.js';

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('make the schedules match a YAML or JSON file (all or nothing)')
    .argument('<file>', 'schedules file')
    .option('--prune', 'delete schedules that the file does not name')
    .option('--dry-run', 'print what would change, change nothing')
    .action(async (file: string, opts, cmd: Command) => {
      const g = globals(cmd);
      const parsed = readScheduleFile(file);
      if (parsed.problems.length) {
        // Refused before the store is opened (which would create the home); the first problem is
        // the error, the others are said before it.
        for (const p of parsed.problems.slice(1))
          process.stderr.write(`conductor: ${printable(`${file}:${p.line ?? '?'}: ${p.message}`)}\n`);
        throw problemsError(file, parsed.problems);
      }
      const ctx = await openContext(cmd);
      const doc = await applySchedules(ctx, file, parsed, { prune: Boolean(opts.prune), dryRun: Boolean(opts.dryRun) });
      warnMissingCwd(parsed.definitions);
      if (g.json) {
        printJson(doc);
        return;
      }
      const c = setupColor(g);
      const { changes } = doc;
      for (const ch of changes) {
        const colour = ch.op === '+' ? c.green : ch.op === '-' ? c.red : c.yellow;
        process.stdout.write(colour(`${ch.op} ${ch.task_id}${ch.fields ? ` (${ch.fields.join(', ')})` : ''}`) + '\n');
      }
      const counts = ['+', '~', '-'].map((op) => changes.filter((ch) => ch.op === op).length);
      process.stdout.write(
        `${opts.dryRun ? 'would apply' : 'applied'}: ${counts[0]} created, ${counts[1]} updated, ${counts[2]} deleted, ${parsed.definitions.length - counts[0] - counts[1]} unchanged\n`,
      );
    });
}
