import { Hono } from 'hono';
import { triggerEvent } from '../../app/events.js';
import { verifyHook } from '../../app/hooks.js';
import { checkId } from '../../ids.js';
import { needs } from '../auth.js';
import { payloadBody, payloadOf, rawBody } from '../body.js';
import { HttpError } from '../errors.js';
import type { Env, ServerDeps } from '../types.js';

/** `trigger` over HTTP: the body is the payload; the answer is `trigger --json`'s. */
export function eventRoutes({ ctx, feed }: ServerDeps): Hono<Env> {
  const r = new Hono<Env>();
  r.post('/events/:event', needs('operate'), async (c) => {
    const payload = await payloadBody(c);
    const { document, note } = await triggerEvent(ctx, { event: c.req.param('event'), payload, depth: 0 });
    if (note) c.header('x-conductor-note', encodeURIComponent(note));
    feed.poke();
    return c.json(document);
  });
  return r;
}

/**
 * /hooks/NAME for services that sign instead of sending a token (GitHub, GitLab, Stripe's
 * X-Hub-Signature-256 form): the signature over the exact bytes received is checked before the
 * body is read as anything; a bad one queues nothing and says no more than 401.
 */
export function hookRoutes({ ctx, feed }: ServerDeps): Hono<Env> {
  const r = new Hono<Env>();
  r.post('/hooks/:name', async (c) => {
    const name = c.req.param('name');
    const body = await rawBody(c);
    const hook = validName(name) ? await verifyHook(ctx, name, body, c.req.header('x-hub-signature-256')) : null;
    if (!hook)
      throw new HttpError(401, 'unknown hook or missing or wrong X-Hub-Signature-256 (sha256=<HMAC-SHA256 of the body>)');
    const payload = payloadOf(body.toString('utf8'), 'webhook body');
    const { document } = await triggerEvent(ctx, { event: hook.event, payload, depth: 0 });
    feed.poke();
    return c.json(document);
  });
  return r;
}

function validName(name: string): boolean {
  try {
    checkId(name, 'hook name');
    return true;
  } catch {
    return false;
  }
}
