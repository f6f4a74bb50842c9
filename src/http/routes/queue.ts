import { Hono } from 'hono';
import { cancelEntry } from '../../app/cancel.js';
import { listDeadLetters, purgeDeadLetters, retryDeadLetter } from '../../app/dlq.js';
import { queueStatus } from '../../app/status.js';
import { checkId } from '../../ids.js';
import { parseDuration } from '../../time.js';
import { needs } from '../auth.js';
import type { Env, ServerDeps } from '../types.js';

/** /queue and /dlq: `status`, `cancel`, `dlq list|retry|purge`. */
export function queueRoutes({ ctx, feed }: ServerDeps): Hono<Env> {
  const r = new Hono<Env>();
  r.get('/queue', needs('read'), async (c) => {
    const starvationMs = parseDuration(c.req.query('starvation_threshold') ?? '30m', 'starvation_threshold');
    return c.json((await queueStatus(ctx, { starvationMs, withPaused: false })).rows);
  });
  r.post('/queue/:entry/cancel', needs('operate'), async (c) => {
    const doc = await cancelEntry(ctx, checkId(c.req.param('entry'), 'entry id'));
    feed.poke();
    return c.json(doc);
  });
  r.get('/dlq', needs('read'), async (c) => c.json(await listDeadLetters(ctx)));
  r.post('/dlq/purge', needs('admin'), async (c) => c.json(await purgeDeadLetters(ctx)));
  r.post('/dlq/:entry/retry', needs('operate'), async (c) => {
    const entry = await retryDeadLetter(ctx, checkId(c.req.param('entry'), 'entry id'));
    feed.poke();
    return c.json(entry);
  });
  return r;
}
