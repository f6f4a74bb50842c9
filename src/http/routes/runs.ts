import { Hono, type Context as HonoContext } from 'hono';
import { stream } from 'hono/streaming';
import { executionLog, listHistory, type ExecutionView } from '../../app/history.js';
import type { Context } from '../../context.js';
import { NotFoundError } from '../../errors.js';
import { checkId, executionIdOf } from '../../ids.js';
import type { ExecStatus } from '../../model.js';
import { parseIntIn } from '../../schedule/definition.js';
import { readBytesFrom } from '../../store/atomic.js';
import { needs } from '../auth.js';
import { flag } from '../body.js';
import { HttpError } from '../errors.js';
import type { Env, ServerDeps } from '../types.js';

const STATUSES: readonly ExecStatus[] = ['success', 'failed', 'timeout', 'cancelled', 'abandoned', 'skipped'];
const FOLLOW_POLL_MS = 250;

/** /runs: `history` (filtered by task and status), one record, its log, followed while it runs. */
export function runRoutes({ ctx }: ServerDeps): Hono<Env> {
  const r = new Hono<Env>();
  r.get('/runs', needs('read'), async (c) => c.json(await filteredHistory(ctx, c)));
  r.get('/runs/:execution', needs('read'), async (c) => {
    const id = checkId(c.req.param('execution'), 'execution id');
    const x = await ctx.store.getExecution(id);
    if (!x) throw new NotFoundError(`unknown execution id '${id}' (a run still going is in /queue until it ends)`);
    const { format: _f, ...view } = x;
    return c.json(view satisfies ExecutionView);
  });
  r.get('/runs/:execution/log', needs('read'), async (c) => {
    const id = checkId(c.req.param('execution'), 'execution id');
    const follow = flag(c, 'follow');
    const running = await runningLogPath(ctx, id);
    if (running === null) {
      const { document, bytes } = await executionLog(ctx, id);
      // A script that asks for JSON gets `logs --json`'s document (output in base64 when not UTF-8).
      if (wantsJson(c.req.header('accept'))) return c.json(document);
      return c.body(new Uint8Array(bytes), 200, { 'content-type': 'text/plain; charset=utf-8' });
    }
    if (!follow)
      return c.body(new Uint8Array(readBytesFrom(running, 0) ?? Buffer.alloc(0)), 200, {
        'content-type': 'text/plain; charset=utf-8',
      });
    c.header('content-type', 'text/plain; charset=utf-8');
    c.header('cache-control', 'no-store');
    c.header('x-accel-buffering', 'no');
    const { stillValid } = c.get('caller');
    return stream(c, (s) => followLog(ctx, id, running, s, stillValid));
  });
  return r;
}

async function filteredHistory(ctx: Context, c: HonoContext): Promise<ExecutionView[]> {
  const task = c.req.query('task') || undefined;
  const status = c.req.query('status') || undefined;
  const limitText = c.req.query('limit');
  const limit = limitText === undefined ? undefined : parseIntIn('limit', limitText, 1, 100_000_000);
  if (status !== undefined && !STATUSES.includes(status as ExecStatus))
    throw new HttpError(400, `invalid status '${status}': expected one of ${STATUSES.join(', ')}`);
  if (status === undefined) return listHistory(ctx, { taskId: task, limit });
  const all = (await listHistory(ctx, { taskId: task })).filter((x) => x.status === status);
  return limit === undefined ? all : all.slice(0, limit);
}

/** Accept names JSON before (or without) plain text. */
function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = accept.indexOf('application/json');
  const text = accept.indexOf('text/plain');
  return json >= 0 && (text < 0 || json < text);
}

/** Where a running execution's output is being captured; null when it is not running here. */
async function runningLogPath(ctx: Context, id: string): Promise<string | null> {
  if (await ctx.store.getExecution(id)) return null;
  const running = (await ctx.store.listRunning()).some((r) => (r.entry.execution_id ?? executionIdOf(r.entry)) === id);
  return running ? ctx.store.logPath(id) : null;
}

interface Sink {
  write(data: Uint8Array): Promise<unknown>;
  sleep(ms: number): Promise<unknown>;
  readonly aborted: boolean;
}

/**
 * Sends the log as it grows, then what was captured last once the run is recorded; nothing more
 * once the caller's token is revoked or its session closed.
 */
async function followLog(ctx: Context, id: string, file: string, s: Sink, stillValid: () => Promise<boolean>): Promise<void> {
  let sent = 0;
  while (!s.aborted) {
    const done = await ctx.store.getExecution(id);
    const fresh = done ? (await ctx.store.readLog(done)).subarray(sent) : readBytesFrom(file, sent);
    if (fresh?.length) {
      if (!(await stillValid())) return;
      await s.write(new Uint8Array(fresh));
      sent += fresh.length;
    }
    if (done) return;
    await s.sleep(FOLLOW_POLL_MS);
  }
}
