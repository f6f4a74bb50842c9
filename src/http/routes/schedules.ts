import { Hono } from 'hono';
import { enqueue } from '../../app/enqueue.js';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, setEnabled } from '../../app/schedules.js';
import { upcomingRuns } from '../../app/upcoming.js';
import { checkId } from '../../ids.js';
import { parseDefinition, parseIntIn } from '../../schedule/definition.js';
import { needs } from '../auth.js';
import { objectBody, payloadOf } from '../body.js';
import { HttpError } from '../errors.js';
import type { Env, ServerDeps } from '../types.js';

/** /schedules: `list`, `get`, `create`, `delete`, `enable`, `disable`, `queue`, and the next runs. */
export function scheduleRoutes({ ctx, feed }: ServerDeps): Hono<Env> {
  const r = new Hono<Env>();
  r.get('/schedules', needs('read'), async (c) => c.json(await listSchedules(ctx)));
  r.post('/schedules', needs('admin'), async (c) => c.json(await createSchedule(ctx, parseDefinition(await objectBody(c))), 201));
  r.get('/schedules/:id', needs('read'), async (c) => c.json(await getSchedule(ctx, checkId(c.req.param('id')))));
  r.delete('/schedules/:id', needs('admin'), async (c) => c.json(await deleteSchedule(ctx, checkId(c.req.param('id')))));
  r.get('/schedules/:id/next', needs('read'), async (c) => {
    const count = parseIntIn('count', c.req.query('count') ?? '10', 1, 1000);
    return c.json(await upcomingRuns(ctx, checkId(c.req.param('id')), count));
  });
  for (const verb of ['enable', 'disable'] as const)
    r.post(`/schedules/:id/${verb}`, needs('operate'), async (c) =>
      c.json(await setEnabled(ctx, checkId(c.req.param('id')), verb === 'enable')),
    );
  r.post('/schedules/:id/queue', needs('operate'), async (c) => {
    const id = checkId(c.req.param('id'));
    const { document } = await enqueue(ctx, { taskId: id, ...queueOptions(await objectBody(c)) });
    feed.poke();
    return c.json(document, 201);
  });
  return r;
}

const QUEUE_FIELDS = new Set(['priority', 'payload', 'count', 'with_deps']);

/** `queue`'s options as a JSON body: {"priority", "payload", "count", "with_deps"}, all optional. */
function queueOptions(b: Record<string, unknown>) {
  for (const k of Object.keys(b))
    if (!QUEUE_FIELDS.has(k)) throw new HttpError(400, `unknown field '${k}' (expected priority, payload, count, with_deps)`);
  const priority = b.priority === undefined ? undefined : parseIntIn('priority', b.priority, 1, 10);
  const many = b.count !== undefined;
  const count = many ? parseIntIn('count', b.count, 1, 1_000_000) : 1;
  if (b.with_deps !== undefined && typeof b.with_deps !== 'boolean')
    throw new HttpError(400, 'invalid with_deps: expected true or false');
  const payload = b.payload === undefined || b.payload === null ? null : payloadOf(JSON.stringify(b.payload), 'payload');
  return { priority, payload, count, many, withDeps: b.with_deps === true };
}
