import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie } from 'hono/cookie';
import { authenticate, scopeAllows, type Scope } from '../app/tokens.js';
import type { Context } from '../context.js';
import { HttpError } from './errors.js';
import { LOGIN_HINT_COOKIE, SESSION_COOKIE, type Sessions } from './sessions.js';
import type { Env } from './types.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every API request names its caller: `Authorization: Bearer <token>`, or the dashboard's session
 * cookie. A write made with the cookie must also carry the session's X-CSRF-Token: another site
 * can make a browser send the cookie (SameSite aside), but cannot read the token to send it.
 */
export function requireCaller(ctx: Context, sessions: Sessions): MiddlewareHandler<Env> {
  return async (c, next) => {
    const bearer = bearerOf(c.req.header('authorization'));
    if (bearer !== null) {
      const who = await authenticate(ctx, bearer);
      if (!who) throw new HttpError(401, 'unknown, revoked or expired token');
      const stillValid = async () => (await authenticate(ctx, bearer)) !== null;
      c.set('caller', { name: who.name, scope: who.scope, session: null, stillValid });
      return next();
    }
    const session = sessions.find(getCookie(c, SESSION_COOKIE), ctx.clock());
    if (!session) {
      deleteCookie(c, LOGIN_HINT_COOKIE, { path: '/' });
      throw new HttpError(401, 'no token: send Authorization: Bearer <token> (conductor token create)');
    }
    const who = await authenticate(ctx, session.secret);
    if (!who) {
      sessions.close(session.id);
      throw new HttpError(401, 'the session token was revoked or has expired: log in again');
    }
    if (!SAFE_METHODS.has(c.req.method) && !sameSecret(c.req.header('x-csrf-token'), session.csrf))
      throw new HttpError(403, 'missing or wrong X-CSRF-Token header (the dashboard sends it with every write)');
    const stillValid = async () =>
      sessions.find(session.id, ctx.clock()) !== null && (await authenticate(ctx, session.secret)) !== null;
    c.set('caller', { name: who.name, scope: who.scope, session, stillValid });
    return next();
  };
}

/** Refuses a caller whose token's scope is below `scope` (403, saying which scope it needs). */
export function needs(scope: Scope): MiddlewareHandler<Env> {
  return async (c, next) => {
    const have = c.get('caller').scope;
    if (!scopeAllows(have, scope)) throw new HttpError(403, `this needs a token of scope ${scope} (yours is ${have})`);
    return next();
  };
}

function bearerOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!m) throw new HttpError(401, 'malformed Authorization header: expected Bearer <token>');
  return m[1];
}

export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
