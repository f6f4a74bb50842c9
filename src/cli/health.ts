import type { Command } from 'commander';
import { checkHealth } from '../app/health.js';
import { parseDuration } from '../time.js';
import { printable } from '../text.js';
import { globals, openContext, printJson, setupColor } from './common.js';

export function registerHealth(program: Command): void {
  program
    .command('health')
    .description('check the heartbeat of process and the state of the home; exit 0 healthy, 1 not')
    .option('--max-age <dur>', 'the last pass may be at most this old', '3m')
    .option('--max-wait <dur>', 'a due entry may wait at most this long', '30m')
    .action(async (opts, cmd: Command) => {
      const g = globals(cmd);
      const maxAgeMs = parseDuration(opts.maxAge, 'max-age');
      const maxWaitMs = parseDuration(opts.maxWait, 'max-wait');
      const report = await checkHealth(await openContext(cmd, 'full', 'existing'), { maxAgeMs, maxWaitMs });
      if (g.json) printJson(report);
      else {
        const c = setupColor(g);
        for (const f of report.findings)
          process.stdout.write(`${f.ok ? c.green('ok  ') : c.red('FAIL')} ${printable(`${f.check}: ${f.message}`)}\n`);
      }
      process.exitCode = report.healthy ? 0 : 1;
    });
}
