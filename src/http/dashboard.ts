import * as path from 'node:path';
import { Hono } from 'hono';
import { readBytes } from '../store/atomic.js';
import type { Env } from './types.js';

/** Paths the dashboard's router draws in the browser: each loads the same page. */
export const PAGE_PATHS = ['/', '/login', '/schedules', '/schedules/:id', '/runs', '/runs/:execution', '/queue', '/dlq'];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/**
 * The dashboard's files, built into dist/web by scripts/build.mjs and shipped in the package: no
 * CDN, so it works offline. Public (the login page must load without a token); everything it shows
 * comes from the API, which asks for one.
 */
export function dashboardRoutes(webDir: string): Hono<Env> {
  const r = new Hono<Env>();
  const page = () => readBytes(path.join(webDir, 'index.html'));
  for (const p of PAGE_PATHS)
    r.get(p, (c) => {
      const html = page();
      if (!html)
        return c.json({ error: `the dashboard is not built (no ${path.join(webDir, 'index.html')}): run npm run build` }, 404);
      return c.body(new Uint8Array(html), 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
    });
  r.get('/assets/:file', (c) => {
    const file = c.req.param('file');
    const type = TYPES[path.extname(file)];
    // One flat folder of plain names: no path reaches outside it.
    const bytes = type && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file) ? readBytes(path.join(webDir, 'assets', file)) : null;
    if (!bytes) return c.json({ error: `no asset ${file}` }, 404);
    return c.body(new Uint8Array(bytes), 200, { 'content-type': type, 'cache-control': 'no-cache' });
  });
  return r;
}
