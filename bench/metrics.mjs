// Metrics: `stats --format prometheus` counts from history itself (exact), so
// its cost grows with history; measured at N executions (imported) against
// `stats --json` on the same home, which reads only the schedules' counters.
import { conductor, fmt, header, ratio, tempDir } from './lib.mjs';
import * as fs from 'node:fs';

/** An export document with `n` executions of two schedules, as `import` takes it. */
function dumpWith(n) {
  const now = Date.now();
  const executions = Array.from({ length: n }, (_, i) => {
    const started = new Date(now - (n - i) * 1000).toISOString();
    const task = i % 20 === 0 ? 'bad' : 'good';
    return {
      execution_id: `bench${String(i).padStart(8, '0')}-0000000000.1`,
      entry_id: `bench${String(i).padStart(8, '0')}-0000000000`,
      task_id: task,
      attempt: 1,
      status: task === 'bad' ? 'failed' : 'success',
      exit_code: task === 'bad' ? 1 : 0,
      signal: null,
      started_at: started,
      finished_at: new Date(Date.parse(started) + 40 + (i % 700)).toISOString(),
      duration_ms: 40 + (i % 700),
      peak_cpu_percent: null,
      peak_memory_mb: null,
      log: null,
      error: null,
      event: null,
      scheduled_for: null,
    };
  });
  const base = JSON.parse(conductor(SEED, ['export']).stdout);
  return { ...base, executions };
}

let SEED;

export async function benchMetrics(n = 100_000) {
  header(`Metrics: stats --format prometheus over ${n.toLocaleString('en')} executions`);
  const dir = tempDir('metrics');
  SEED = `${dir}/seed`;
  conductor(SEED, ['create', 'good', 'Good', 'true', 'event', 'never']);
  conductor(SEED, ['create', 'bad', 'Bad', 'exit 1', 'event', 'never']);
  const file = `${dir}/dump.json`;
  fs.writeFileSync(file, JSON.stringify(dumpWith(n)));
  const home = `${dir}/home`;
  conductor(home, ['import', file]);
  const best = (args) => Math.min(...[1, 2, 3].map(() => conductor(home, args).ms));
  const json = best(['stats', '--json']);
  const prom = best(['stats', '--format', 'prometheus']);
  const counted = conductor(home, ['stats', '--format', 'prometheus']).stdout.match(
    /^conductor_execution_duration_seconds_count\{[^}]*\} (\d+)$/m,
  );
  if (Number(counted?.[1]) !== n) throw new Error(`expected ${n} executions counted, got ${counted?.[1]}`);
  console.log(`stats --json                 ${fmt(json)}`);
  console.log(`stats --format prometheus    ${fmt(prom)}   ${ratio(prom, json)}`);
  return { executions: n, stats_json_ms: json, prometheus_ms: prom, ratio: prom / json };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchMetrics(Number(process.argv[2]) || 100_000);
