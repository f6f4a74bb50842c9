import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { FORMAT } from '../model.js';
import { SCOPES, type Scope, type TokenRecord } from '../store/store.js';
import { isoInZone, MAX_DURATION_MS } from '../time.js';

export { SCOPES, type Scope };

/** What `token create --json` prints: the only time the secret is shown. */
export interface CreatedToken {
  name: string;
  scope: Scope;
  token: string;
  expires_at: string | null;
}

/** A token as `token list --json` shows it: never its secret or hash. */
export interface TokenView {
  name: string;
  scope: Scope;
  created_at: string;
  expires_at: string | null;
  expired: boolean;
}

/** Does a token of scope `have` allow what needs `need`? read < operate < admin. */
export function scopeAllows(have: Scope, need: Scope): boolean {
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}

export function checkScope(scope: unknown): Scope {
  if (!SCOPES.includes(scope as Scope)) throw new InputError(`invalid scope '${String(scope)}': use read, operate or admin`);
  return scope as Scope;
}

/**
 * The stored form of a secret. A plain SHA-256, not a slow KDF (bcrypt,
 * scrypt): those protect guessable passwords, while a token is 32 random
 * bytes, 2^256 to try from a leaked hash whatever the speed of the hash; and
 * every request pays the check.
 */
function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

const hashOf = (secret: string) => `sha256:${digest(secret).toString('hex')}`;

const expired = (t: Pick<TokenRecord, 'expires_at'>, now: number) => t.expires_at !== null && Date.parse(t.expires_at) <= now;

export interface TokenRequest {
  name: string;
  scope: Scope;
  expiresInMs?: number;
}

/** What createToken refuses (exit 2), checked alone: the CLI checks before it opens, so a refusal creates no home. */
export function checkTokenRequest(o: TokenRequest): TokenRequest {
  checkId(o.name, 'token name');
  checkScope(o.scope);
  if (o.expiresInMs !== undefined && !(o.expiresInMs > 0 && o.expiresInMs <= MAX_DURATION_MS)) {
    throw new InputError(`invalid expiry of ${String(o.expiresInMs)} ms: from 1 ms to 3650 days`);
  }
  return o;
}

/** A new token: `cdt_` and 32 random bytes in base64url, of which only the hash is kept. */
export async function createToken(ctx: Context, o: TokenRequest): Promise<CreatedToken> {
  const { name, scope, expiresInMs } = checkTokenRequest(o);
  const now = ctx.clock();
  const expires_at = expiresInMs === undefined ? null : isoInZone(now + expiresInMs);
  const token = `cdt_${randomBytes(32).toString('base64url')}`;
  const rec: TokenRecord = { format: FORMAT, name, scope, hash: hashOf(token), created_at: isoInZone(now), expires_at };
  if (!(await ctx.store.createToken(rec))) {
    throw new InputError(`token '${name}' exists: revoke it first (conductor token revoke ${name}) or pick another name`);
  }
  return { name, scope, token, expires_at };
}

export async function listTokens(ctx: Context): Promise<TokenView[]> {
  const now = ctx.clock();
  return (await ctx.store.listTokens()).map((t) => ({
    name: t.name,
    scope: t.scope,
    created_at: t.created_at,
    expires_at: t.expires_at,
    expired: expired(t, now),
  }));
}

export async function revokeToken(ctx: Context, name: string): Promise<{ name: string; revoked: true }> {
  checkId(name, 'token name');
  if (!(await ctx.store.deleteToken(name))) throw new InputError(`unknown token '${name}' (see conductor token list)`);
  return { name, revoked: true };
}

/**
 * The token whose secret this is, unless it expired; null for none. Every
 * stored hash is compared, in constant time, whether or not one matched
 * already: how long this takes says nothing about which token, if any, is close.
 */
export async function authenticate(
  ctx: Context,
  secret: string,
): Promise<{ name: string; scope: Scope; expires_at: string | null } | null> {
  const presented = digest(secret);
  let match: TokenRecord | null = null;
  for (const t of await ctx.store.listTokens()) {
    const stored = Buffer.from(t.hash.slice('sha256:'.length), 'hex');
    if (timingSafeEqual(stored, presented) && match === null) match = t;
  }
  if (match === null || expired(match, ctx.clock())) return null;
  return { name: match.name, scope: match.scope, expires_at: match.expires_at };
}
