import { Hono, type Handler } from 'hono';
import { applySchedules, parseScheduleFile } from '../../app/apply.js';
import { checkHealth } from '../../app/health.js';
import { collectMetrics, prometheusText } from '../../app/metrics.js';
import { setPaused } from '../../app/pause.js';
import { collectStats } from '../../app/stats.js';
import { parseDuration } from '../../time.js';
import { needs } from '../auth.js';
import { flag, rawBody } from '../body.js';
import type { Env, ServerDeps } from '../types.js';

/** What a pass last said about itself: when, and the admission limits it ran under. */
interface Heartbeat {
  at?: string;
  mode?: string;
  max_cpu?: number;
  max_mem?: number;
}

/** The home as a whole: `stats`, `health`, the metrics, load against the limits, `pause`/`resume`, `apply`. */
export function opsRoutes({ ctx, probe, feed }: ServerDeps): Hono<Env> {
  const r = new Hono<Env>();
  r.get('/stats', needs('read'), async (c) => c.json(await collectStats(ctx)));
  r.get('/health', needs('read'), async (c) => {
    const maxAgeMs = parseDuration(c.req.query('max_age') ?? '3m', 'max_age');
    const maxWaitMs = parseDuration(c.req.query('max_wait') ?? '30m', 'max_wait');
    const report = await checkHealth(ctx, { maxAgeMs, maxWaitMs });
    return c.json(report, report.healthy ? 200 : 503);
  });
  r.get('/metrics', needs('read'), metricsHandler({ ctx }));
  r.get('/load', needs('read'), async (c) => {
    const now = probe.read();
    const hb = await ctx.store.readState<Heartbeat>('heartbeat');
    return c.json({
      cpu_percent: round1(now.cpu),
      memory_percent: round1(now.mem),
      max_cpu: hb?.max_cpu ?? null,
      max_mem: hb?.max_mem ?? null,
      last_pass_at: hb?.at ?? null,
      last_pass_mode: hb?.mode ?? null,
    });
  });
  for (const verb of ['pause', 'resume'] as const)
    r.post(`/${verb}`, needs('operate'), async (c) => c.json(await setPaused(ctx, verb === 'pause')));
  r.post('/apply', needs('admin'), async (c) => {
    const parsed = parseScheduleFile(await rawBody(c));
    const doc = await applySchedules(ctx, 'the request body', parsed, { prune: flag(c, 'prune'), dryRun: flag(c, 'dry_run') });
    feed.poke();
    return c.json(doc);
  });
  return r;
}

/** The Prometheus exposition, as `stats --format prometheus` writes it (at /metrics and /api/v1/metrics). */
export function metricsHandler({ ctx }: Pick<ServerDeps, 'ctx'>): Handler<Env> {
  return async (c) =>
    c.body(prometheusText(await collectMetrics(ctx)), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
}

const round1 = (n: number) => Math.round(n * 10) / 10;
