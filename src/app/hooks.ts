import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import { checkEventName } from '../events/match.js';
import { checkId, ID_PATTERN } from '../ids.js';
import { FORMAT } from '../model.js';
import type { HookRecord } from '../store/store.js';
import { isoInZone } from '../time.js';

/** What `hook create --json` prints: the only time the secret is shown. */
export interface CreatedHook {
  name: string;
  event: string;
  secret: string;
  path: string;
}

export interface HookView {
  name: string;
  event: string;
  path: string;
  created_at: string;
}

const pathOf = (name: string) => `/hooks/${name}`;

/** GitHub's header: `sha256=` and the hex HMAC-SHA256 of the raw body, keyed with the secret. */
const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** What createHook refuses (exit 2), checked alone: the CLI checks before it opens, so a refusal creates no home. */
export function checkHookRequest(o: { name: string; event: string }): { name: string; event: string } {
  checkId(o.name, 'hook name');
  const bad = checkEventName(o.event);
  if (bad) throw new InputError(bad);
  return o;
}

/**
 * A new webhook: `whsec_` and 32 random bytes in base64url. Unlike a token's,
 * the secret is stored as it is (owner-only): checking a signature needs it.
 */
export async function createHook(ctx: Context, o: { name: string; event: string }): Promise<CreatedHook> {
  const { name } = checkHookRequest(o);
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const rec: HookRecord = { format: FORMAT, name, event: o.event, secret, created_at: isoInZone(ctx.clock()) };
  if (!(await ctx.store.createHook(rec))) {
    throw new InputError(`hook '${name}' exists: revoke it first (conductor hook revoke ${name}) or pick another name`);
  }
  return { name, event: o.event, secret, path: pathOf(name) };
}

export async function listHooks(ctx: Context): Promise<HookView[]> {
  return (await ctx.store.listHooks()).map((h) => ({
    name: h.name,
    event: h.event,
    path: pathOf(h.name),
    created_at: h.created_at,
  }));
}

export async function revokeHook(ctx: Context, name: string): Promise<{ name: string; revoked: true }> {
  checkId(name, 'hook name');
  if (!(await ctx.store.deleteHook(name))) throw new InputError(`unknown hook '${name}' (see conductor hook list)`);
  return { name, revoked: true };
}

/**
 * The hook a request to /hooks/NAME may trigger, or null: an unknown name, no
 * or a malformed signature header, or a signature of other bytes or another
 * secret (compared in constant time). The caller answers 401 for null.
 */
export async function verifyHook(
  ctx: Context,
  name: string,
  body: Buffer,
  signature: string | undefined,
): Promise<{ name: string; event: string } | null> {
  const m = signature === undefined ? null : SIGNATURE.exec(signature);
  if (!m || !ID_PATTERN.test(name)) return null;
  const hook = await ctx.store.readHook(name);
  if (!hook) return null;
  const expected = createHmac('sha256', hook.secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1], 'hex')) ? { name: hook.name, event: hook.event } : null;
}
