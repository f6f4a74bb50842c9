import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { needs } from '../auth.js';
import type { FeedEvent } from '../feed.js';
import type { Env, ServerDeps } from '../types.js';

const KEEPALIVE_MS = 15_000;

/** Server-sent events of queued / started / finished entries, for as long as the client listens. */
export function streamRoutes({ feed }: ServerDeps): Hono<Env> {
  const r = new Hono<Env>();
  r.get('/stream', needs('read'), (c) => {
    const { stillValid } = c.get('caller');
    c.header('x-accel-buffering', 'no');
    return streamSSE(c, async (s) => {
      const pending: FeedEvent[] = [];
      let wake: (() => void) | null = null;
      const off = feed.subscribe((ev) => {
        pending.push(ev);
        wake?.();
      });
      s.onAbort(() => wake?.());
      try {
        await s.writeSSE({ event: 'ready', data: '{}' });
        while (!s.aborted) {
          if (pending.length === 0) await idle(KEEPALIVE_MS, (w) => (wake = w));
          // A token revoked (or a session logged out) since the stream opened gets nothing more.
          if (s.aborted || !(await stillValid())) return;
          if (pending.length === 0) await s.write(': keep-alive\n\n');
          for (const ev of pending.splice(0)) await s.writeSSE({ event: ev.type, data: JSON.stringify(ev.data) });
        }
      } finally {
        off();
      }
    });
  });
  return r;
}

function idle(ms: number, setWake: (w: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    setWake(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
