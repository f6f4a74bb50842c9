import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { readScheduleFile } from '../schedule-file.js';
import { checkDependencyGraph } from '../schedules.js';
import { printable } from '../text.js';
import { globals, printJson } from './common.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a schedules file without writing anything')
    .argument('<file>', 'schedules file')
    .action(async (file: string, _opts, cmd: Command) => {
      const parsed = readScheduleFile(file);
      const problems = [...parsed.problems];
      if (problems.length === 0) {
        // Dependencies must resolve within the file itself.
        try {
          checkDependencyGraph(new Map(parsed.definitions.map((d) => [d.task_id, d.depends_on])));
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          problems.push({ line: null, message: err.message });
        }
      }
      if (globals(cmd).json) printJson({ file, valid: problems.length === 0, schedules: parsed.definitions.length, problems });
      else if (problems.length === 0) process.stdout.write(`${file}: ok, ${parsed.definitions.length} schedules\n`);
      for (const p of problems) process.stderr.write(`${printable(`${file}:${p.line ?? '?'}: ${p.message}`)}\n`);
      if (problems.length) process.exitCode = 2;
    });
}
