import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { authenticate } from '../../app/tokens.js';
import { isoInZone, parseIso } from '../../time.js';
import { objectBody } from '../body.js';
import { HttpError } from '../errors.js';
import { LOGIN_HINT_COOKIE, SESSION_COOKIE } from '../sessions.js';
import type { Env, ServerDeps } from '../types.js';

/**
 * The dashboard's login: a token in, an HttpOnly SameSite=Strict cookie out, and the CSRF value
 * the page sends back with its writes. The cookie is Secure when the request came over HTTPS
 * (directly or, behind a proxy, as X-Forwarded-Proto says).
 */
export function loginRoutes({ ctx, sessions }: ServerDeps): Hono<Env> {
  const r = new Hono<Env>();
  r.post('/session', async (c) => {
    // A form of another site can post text/plain or form data, not JSON: no login it did not ask for.
    if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? ''))
      throw new HttpError(415, 'the login takes a JSON body: send Content-Type: application/json');
    const { token } = await objectBody(c);
    if (typeof token !== 'string' || token === '') throw new HttpError(400, 'expected {"token": "..."}');
    const who = await authenticate(ctx, token);
    if (!who) throw new HttpError(401, 'unknown, revoked or expired token');
    const s = sessions.open(
      { name: who.name, scope: who.scope, secret: token, expiresAt: parseIso(who.expires_at) },
      ctx.clock(),
    );
    const secure = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
    const expires = new Date(s.expiresAt);
    setCookie(c, SESSION_COOKIE, s.id, { httpOnly: true, sameSite: 'Strict', path: '/', secure, expires });
    setCookie(c, LOGIN_HINT_COOKIE, '1', { sameSite: 'Strict', path: '/', secure, expires });
    return c.json({ name: s.name, scope: s.scope, csrf: s.csrf, expires_at: isoInZone(s.expiresAt) });
  });
  r.delete('/session', async (c) => {
    sessions.close(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    deleteCookie(c, LOGIN_HINT_COOKIE, { path: '/' });
    return c.body(null, 204);
  });
  return r;
}

/** Who the caller is (behind the token check): the dashboard asks on load. */
export function whoamiRoutes(): Hono<Env> {
  const r = new Hono<Env>();
  r.get('/session', (c) => {
    const { name, scope, session } = c.get('caller');
    return c.json({ name, scope, csrf: session?.csrf ?? null, expires_at: session ? isoInZone(session.expiresAt) : null });
  });
  return r;
}
