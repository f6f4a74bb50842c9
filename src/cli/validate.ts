import type { Command } from 'commander';
import { readScheduleFile, validateSchedules } from '../app/apply.js';
import { printable } from '../text.js';
import { globals, printJson } from './common.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a schedules file without writing anything')
    .argument('<file>', 'schedules file')
    .action(async (file: string, _opts, cmd: Command) => {
      const doc = validateSchedules(file, readScheduleFile(file));
      if (globals(cmd).json) printJson(doc);
      else if (doc.valid) process.stdout.write(`${file}: ok, ${doc.schedules} schedules\n`);
      for (const p of doc.problems) process.stderr.write(`${printable(`${file}:${p.line ?? '?'}: ${p.message}`)}\n`);
      if (!doc.valid) process.exitCode = 2;
    });
}
