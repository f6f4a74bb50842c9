import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MAX_PAYLOAD_BYTES } from '../run/exec-limits.js';
import { needs, requireCaller } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { errorResponse } from './errors.js';
import { openApiRoutes } from './openapi.js';
import { eventRoutes, hookRoutes } from './routes/events.js';
import { metricsHandler, opsRoutes } from './routes/ops.js';
import { queueRoutes } from './routes/queue.js';
import { runRoutes } from './routes/runs.js';
import { scheduleRoutes } from './routes/schedules.js';
import { loginRoutes, whoamiRoutes } from './routes/session.js';
import { streamRoutes } from './routes/stream.js';
import type { Env, ServerDeps } from './types.js';

/** A schedules file for `apply` is the largest body anyone sends. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** A login is a token in a small JSON object. */
const MAX_LOGIN_BYTES = 16 * 1024;

/**
 * The whole server: the API under /api/v1 (a token on every request but the login), webhooks
 * under /hooks (a signature instead), /metrics, and the dashboard's pages and assets.
 */
export function buildApp(deps: ServerDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.onError((err, c) => errorResponse(c, err));
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.use('*', securityHeaders());
  app.use('*', limitBody(MAX_BODY_BYTES));
  // Read before any token or signature is checked: anyone could make the server hold these.
  app.use('/hooks/*', limitBody(MAX_PAYLOAD_BYTES));
  app.use('/api/v1/session', limitBody(MAX_LOGIN_BYTES));

  const caller = requireCaller(deps.ctx, deps.sessions);
  const api = new Hono<Env>();
  api.route('/', loginRoutes(deps));
  api.use('*', caller);
  for (const routes of [
    whoamiRoutes(),
    scheduleRoutes(deps),
    queueRoutes(deps),
    runRoutes(deps),
    eventRoutes(deps),
    opsRoutes(deps),
    streamRoutes(deps),
    openApiRoutes(),
  ])
    api.route('/', routes);
  app.route('/api/v1', api);
  app.route('/', hookRoutes(deps));
  app.get('/metrics', caller, needs('read'), metricsHandler(deps));
  app.route('/', dashboardRoutes(deps.webDir));
  return app;
}

function limitBody(maxSize: number): MiddlewareHandler<Env> {
  return bodyLimit({ maxSize, onError: (c) => c.json({ error: `request body over ${maxSize} bytes` }, 413) });
}

/**
 * Nothing from elsewhere: the dashboard loads only its own files, is framed by no other site,
 * and no response is sniffed into another type.
 */
function securityHeaders(): MiddlewareHandler<Env> {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
  return async (c, next) => {
    await next();
    c.header('content-security-policy', csp);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    c.header('x-frame-options', 'DENY');
    if (c.req.path.startsWith('/api/') && !c.res.headers.get('cache-control')) c.header('cache-control', 'no-store');
  };
}
