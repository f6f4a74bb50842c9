import type { Command } from 'commander';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { InputError, RunError } from '../errors.js';
import { writeAtomic } from '../store/atomic.js';
import { collectStats, type Stats } from '../app/stats.js';
import { collectMetrics, prometheusText } from '../app/metrics.js';
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
      if (opts.output !== undefined && format === 'table') throw new InputError('--output needs --format json or prometheus');
      const output = opts.output === undefined ? undefined : outputFile(opts.output);
      const ctx = await openContext(cmd, 'full', 'existing');
      if (format === 'prometheus') {
        const text = prometheusText(await collectMetrics(ctx));
        reportProblems(ctx);
        // 0644: node_exporter reads it as its own user, and it holds no secret.
        if (output) writeAtomic(output, text, 0o644);
        else process.stdout.write(text);
        return;
      }
      const stats = await collectStats(ctx);
      reportProblems(ctx);
      if (format === 'json') {
        if (output) writeAtomic(output, JSON.stringify(stats, null, 2) + '\n');
        else printJson(stats);
        return;
      }
      printStatsTable(stats);
    });
}

function printStatsTable(stats: Stats): void {
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
}

/** Where --output goes; a folder that is missing is named, before anything is read. */
function outputFile(name: string): string {
  if (name === '') throw new InputError('--output is empty: name a file, e.g. --output /var/lib/node_exporter/conductor.prom');
  const file = path.resolve(name);
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) throw new RunError(`cannot write ${file}: the folder ${dir} does not exist (create it first)`);
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory())
    throw new InputError(`--output ${file} is a folder: name a file in it, e.g. ${path.join(file, 'conductor.prom')}`);
  return file;
}
