import type { Command } from 'commander';
import * as path from 'node:path';
import { InputError } from '../errors.js';
import { writeAtomic } from '../store/atomic.js';
import { collectStats, prometheusText } from '../app/stats.js';
import { globals, openContext, printJson, printTable, reportProblems } from './common.js';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('counts of schedules, queue and executions')
    .option('--format <fmt>', 'table | json | prometheus')
    .option('--output <file>', 'write there (atomically) instead of stdout')
    .action(async (opts, cmd: Command) => {
      const g = globals(cmd);
      const format = opts.format ?? (g.json ? 'json' : 'table');
      if (!['table', 'json', 'prometheus'].includes(format))
        throw new InputError(`invalid --format '${format}': expected table, json or prometheus`);
      const ctx = await openContext(cmd, 'full', 'read');
      const stats = await collectStats(ctx);
      reportProblems(ctx);
      let text: string;
      if (format === 'json') text = JSON.stringify(stats, null, 2) + '\n';
      else if (format === 'prometheus') text = prometheusText(stats);
      else {
        if (opts.output) throw new InputError('--output needs --format json or prometheus');
        const rows: [string, string | number][] = [
          ['schedules', stats.schedules],
          ['enabled', stats.enabled],
          ['queued', stats.queued],
          ['executing', stats.executing],
          ['completed', stats.completed],
          ['failed', stats.failed],
          ['dlq', stats.dlq],
          ['average duration', `${stats.average_duration_ms} ms`],
          ['quarantined files', stats.quarantined],
          ['open breakers', stats.breakers_open],
          ['paused', stats.paused ? 'yes' : 'no'],
          [
            'priorities (schedules)',
            Object.entries(stats.priority_distribution)
              .map(([p, n]) => `${p}:${n}`)
              .join(' ') || '-',
          ],
          [
            'priorities (queued)',
            Object.entries(stats.queue_priority_distribution)
              .map(([p, n]) => `${p}:${n}`)
              .join(' ') || '-',
          ],
        ];
        printTable(['METRIC', 'VALUE'], rows);
        return;
      }
      if (opts.output) writeAtomic(path.resolve(opts.output), text);
      else if (format === 'json') printJson(stats);
      else process.stdout.write(text);
    });
}
