import { randomBytes } from 'node:crypto';
import type { Scope } from '../app/tokens.js';

/**
 * Dashboard sessions, in this server's memory: a browser logs in once with a token and then
 * carries an opaque cookie. The token itself stays here (never in the cookie, never on disk) so
 * that every request checks it again: a revoked or expired token ends its sessions at once. A
 * restart of `serve` logs everyone out, which is the safe failure.
 */
export interface Session {
  id: string;
  name: string;
  scope: Scope;
  /** The token the browser logged in with, checked again on every request. */
  secret: string;
  /** Sent back by the dashboard in X-CSRF-Token on every write. */
  csrf: string;
  expiresAt: number;
}

export const SESSION_COOKIE = 'conductor_session';
/**
 * Readable by the page, holding no secret: tells the dashboard a session may exist, so that a
 * visitor without one gets the login page without a request answered 401.
 */
export const LOGIN_HINT_COOKIE = 'conductor_login';
export const SESSION_TTL_MS = 12 * 3600_000;
const MAX_SESSIONS = 10_000;

export interface Sessions {
  open(who: { name: string; scope: Scope; secret: string; expiresAt: number | null }, now: number): Session;
  find(id: string | undefined, now: number): Session | null;
  close(id: string | undefined): void;
}

export function createSessions(): Sessions {
  const table = new Map<string, Session>();
  const sweep = (now: number) => {
    for (const [id, s] of table) if (s.expiresAt <= now) table.delete(id);
    // A flood of logins must not grow memory without bound: the oldest go first.
    while (table.size >= MAX_SESSIONS) table.delete(table.keys().next().value as string);
  };
  return {
    open(who, now) {
      sweep(now);
      const s: Session = {
        id: randomBytes(32).toString('base64url'),
        name: who.name,
        scope: who.scope,
        secret: who.secret,
        csrf: randomBytes(24).toString('base64url'),
        expiresAt: Math.min(now + SESSION_TTL_MS, who.expiresAt ?? Infinity),
      };
      table.set(s.id, s);
      return s;
    },
    find(id, now) {
      if (!id) return null;
      const s = table.get(id);
      if (!s) return null;
      if (s.expiresAt <= now) {
        table.delete(id);
        return null;
      }
      return s;
    },
    close(id) {
      if (id) table.delete(id);
    },
  };
}
