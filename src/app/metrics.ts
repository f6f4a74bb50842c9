import type { Context } from '../context.js';
import type { ExecStatus } from '../model.js';
import { DURATION_BOUNDS_MS, type HistoryTally } from '../store/tally.js';
import { collectStats, type Stats } from './stats.js';

/** What the Prometheus exposition is made of; prometheusText turns it into text. */
export interface MetricsInput {
  /** Tells two homes on one host apart (every sample carries it as `home`). */
  home: string;
  stats: Stats;
  /** Every recorded execution, plus those pruned: exact and monotonic counters. */
  tally: HistoryTally;
  /** Every schedule id, so a task that never ran still has counters at 0. */
  tasks: string[];
  /** When a `process` pass or daemon tick last ran; null if never. */
  lastPassMs: number | null;
}

const STATUSES: ExecStatus[] = ['success', 'failed', 'timeout', 'cancelled', 'abandoned', 'skipped'];
const BREAKER_VALUE: Record<string, number> = { closed: 0, 'half-open': 1, open: 2 };

export async function collectMetrics(ctx: Context): Promise<MetricsInput> {
  const { store } = ctx;
  const schedules = await store.listSchedules();
  const stats = await collectStats(ctx, schedules);
  const tally = await store.historyTally();
  const hb = await store.readState<{ at: string }>('heartbeat');
  const last = hb && typeof hb.at === 'string' ? Date.parse(hb.at) : NaN;
  return {
    home: store.location,
    stats,
    tally,
    tasks: schedules.map((s) => s.task_id),
    lastPassMs: Number.isFinite(last) ? last : null,
  };
}

type Labels = Record<string, string>;
type Sample = [suffix: string, labels: Labels, value: number];

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const num = (n: number) => (Number.isInteger(n) ? String(n) : String(Number(n.toFixed(6))));

/** One metric family: its HELP and TYPE, then its samples, each labelled with the home. */
function family(name: string, type: string, help: string, samples: Sample[], home: string): string[] {
  const out = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [suffix, labels, value] of samples) {
    const l = Object.entries({ home, ...labels })
      .map(([k, v]) => `${k}="${esc(v)}"`)
      .join(',');
    out.push(`${name}${suffix}{${l}} ${num(value)}`);
  }
  return out;
}

function executionCounters(m: MetricsInput): Sample[] {
  const tasks = [...new Set([...m.tasks, ...Object.keys(m.tally.runs)])].sort();
  return tasks.flatMap((task) =>
    STATUSES.map((status): Sample => ['', { task, status }, m.tally.runs[task]?.[status]?.count ?? 0]),
  );
}

/** Cumulative buckets in seconds, then _sum and _count, as Prometheus histograms are. */
function durationHistogram(t: HistoryTally): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  DURATION_BOUNDS_MS.forEach((b, i) => {
    cumulative += t.buckets[i];
    out.push(['_bucket', { le: num(b / 1000) }, cumulative]);
  });
  cumulative += t.buckets[DURATION_BOUNDS_MS.length];
  const ms = Object.values(t.runs).reduce((n, byStatus) => n + ran(byStatus).ms, 0);
  out.push(['_bucket', { le: '+Inf' }, cumulative], ['_sum', {}, ms / 1000], ['_count', {}, cumulative]);
  return out;
}

/** The executions of one task that ran (all but skipped ones) and their summed duration. */
function ran(byStatus: HistoryTally['runs'][string]): { count: number; ms: number } {
  let count = 0;
  let ms = 0;
  for (const [status, c] of Object.entries(byStatus)) {
    if (status === 'skipped') continue;
    count += c.count;
    ms += c.duration_ms;
  }
  return { count, ms };
}

function taskDurations(t: HistoryTally): Sample[] {
  return Object.keys(t.runs)
    .sort()
    .flatMap((task) => {
      const { count, ms } = ran(t.runs[task]);
      return [['_sum', { task }, ms / 1000] as Sample, ['_count', { task }, count] as Sample];
    });
}

/** The text exposition format (node_exporter's textfile collector, `promtool check metrics`). */
export function prometheusText(m: MetricsInput): string {
  const s = m.stats;
  const g = (name: string, help: string, value: number) => family(name, 'gauge', help, [['', {}, value]], m.home);
  const lines = [
    ...family('conductor_executions_total', 'counter', 'Executions recorded, by task and outcome.', executionCounters(m), m.home),
    ...family(
      'conductor_execution_duration_seconds',
      'histogram',
      'How long executions ran (all but skipped ones).',
      durationHistogram(m.tally),
      m.home,
    ),
    ...family(
      'conductor_task_duration_seconds',
      'summary',
      'How long executions of each task ran (all but skipped ones).',
      taskDurations(m.tally),
      m.home,
    ),
    ...g(
      'conductor_last_pass_timestamp_seconds',
      'When a process pass or daemon tick last ran (0: never).',
      (m.lastPassMs ?? 0) / 1000,
    ),
    ...g('conductor_schedules', 'Schedules defined.', s.schedules),
    ...g('conductor_schedules_enabled', 'Schedules enabled.', s.enabled),
    ...g('conductor_queue_depth', 'Entries waiting in the queue.', s.queued),
    ...g('conductor_executing', 'Entries running now.', s.executing),
    ...g('conductor_dlq_entries', 'Entries in the dead-letter queue.', s.dlq),
    ...g('conductor_quarantined_files', 'Records set aside as unreadable or unsafe.', s.quarantined),
    ...g('conductor_paused', '1 if the home is paused.', s.paused ? 1 : 0),
    ...family(
      'conductor_breaker_state',
      'gauge',
      'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      Object.entries(s.breakers).map(([breaker, st]): Sample => ['', { breaker }, BREAKER_VALUE[st] ?? 2]),
      m.home,
    ),
    ...g('conductor_breakers_open', 'Circuit breakers open or half-open.', s.breakers_open),
  ];
  return lines.join('\n') + '\n';
}
