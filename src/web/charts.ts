// What the charts show, as uPlot options and data: runs per hour by outcome (stacked bars) and
// the durations of one schedule's runs. Drawing is uPlot's (chart.tsx mounts it).
import uPlot from 'uplot';
import { duration, type OutcomeGroup, outcomeGroup } from './format';
import type { Execution } from './types';

export interface ChartSpec {
  options: (width: number) => uPlot.Options;
  data: uPlot.AlignedData;
}

const COLOUR: Record<OutcomeGroup, string> = { ok: '#1e8e3e', failed: '#d93025', other: '#9aa0a6' };
const HOUR = 3600_000;
const whole = { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000] };

/**
 * Runs that finished in each of the last `hours` hours (the current one last), stacked ok below
 * failed below other. uPlot has no stacking: each series is the running total drawn over the
 * previous one, and the legend shows the group's own count.
 */
export function runsPerHour(runs: Execution[], now: number, hours = 24): ChartSpec {
  const first = Math.floor(now / HOUR) * HOUR - (hours - 1) * HOUR;
  const counts: Record<OutcomeGroup, number[]> = { ok: [], failed: [], other: [] };
  for (const g of Object.keys(counts) as OutcomeGroup[]) counts[g] = new Array<number>(hours).fill(0);
  for (const r of runs) {
    const i = Math.floor((Date.parse(r.finished_at) - first) / HOUR);
    if (i >= 0 && i < hours) counts[outcomeGroup(r.status)][i]++;
  }
  const xs = counts.ok.map((_, i) => (first + i * HOUR) / 1000);
  const okFailed = counts.ok.map((n, i) => n + counts.failed[i]);
  const all = okFailed.map((n, i) => n + counts.other[i]);
  const bars = uPlot.paths.bars!({ size: [0.8, 40], align: 1 });
  const series = (group: OutcomeGroup): uPlot.Series => ({
    label: group,
    fill: COLOUR[group],
    stroke: COLOUR[group],
    paths: bars,
    points: { show: false },
    value: (_u, _v, _s, idx) => (idx === null || idx === undefined ? '—' : String(counts[group][idx])),
  });
  // An empty hour is a gap, not a bar of height zero drawn as a line on the axis.
  const bar = (ns: number[]) => ns.map((n) => (n === 0 ? null : n));
  return {
    data: [xs, bar(all), bar(okFailed), bar(counts.ok)],
    options: (width) => ({
      width,
      height: 220,
      scales: {
        x: { time: true, range: [xs[0], xs[xs.length - 1] + 3600] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [{}, { ...whole, values: (_u, ticks) => ticks.map(String) }],
      series: [{ label: 'hour' }, series('other'), series('failed'), series('ok')],
    }),
  };
}

/** Each run's duration at the time it started: a line through the successes, failures as red dots. */
export function durations(runs: Execution[]): ChartSpec {
  const sorted = [...runs].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  const xs = sorted.map((r) => Date.parse(r.started_at) / 1000);
  const pick = (group: OutcomeGroup) => sorted.map((r) => (outcomeGroup(r.status) === group ? r.duration_ms / 1000 : null));
  const seconds = (_u: uPlot, v: number | null) => (v === null ? '—' : duration(v * 1000));
  return {
    data: [xs, pick('ok'), pick('failed')],
    options: (width) => ({
      width,
      height: 200,
      scales: {
        // One run alone would otherwise get years of axis around it.
        x: { time: true, range: (_u, min, max) => (max - min < 60 ? [min - 1800, max + 1800] : [min, max]) },
        y: { range: (_u, _min, max) => [0, Math.max(0.01, max * 1.1)] },
      },
      axes: [{}, { label: 'seconds', size: 60 }],
      series: [
        { label: 'started' },
        { label: 'ok', stroke: COLOUR.ok, spanGaps: true, points: { show: true, size: 5 }, value: seconds },
        {
          label: 'failed',
          stroke: COLOUR.failed,
          paths: () => null,
          points: { show: true, size: 7, fill: COLOUR.failed },
          value: seconds,
        },
      ],
    }),
  };
}
