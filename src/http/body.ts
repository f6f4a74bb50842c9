import type { Context as HonoContext } from 'hono';
import { checkPayloadSize } from '../run/exec-limits.js';
import { HttpError } from './errors.js';

/** A request body as bytes (a webhook signs exactly these). */
export async function rawBody(c: HonoContext): Promise<Buffer> {
  return Buffer.from(await c.req.arrayBuffer());
}

/** The body as a JSON value; an empty body is null. Not JSON: 400, nothing done. */
export async function jsonBody(c: HonoContext): Promise<unknown> {
  const text = await textBody(c);
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the request body is not valid JSON (${(err as Error).message})`);
  }
}

/** The body as the text of a JSON payload for handlers (CONDUCTOR_PAYLOAD), or null when empty. */
export async function payloadBody(c: HonoContext, what = 'payload'): Promise<string | null> {
  return payloadOf((await rawBody(c)).toString('utf8'), what);
}

export function payloadOf(text: string, what: string): string | null {
  if (text.trim() === '') return null;
  try {
    JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `invalid ${what}: the body is not valid JSON (${(err as Error).message}); nothing was queued`);
  }
  checkPayloadSize(text, what);
  return text;
}

export async function textBody(c: HonoContext): Promise<string> {
  const bytes = await rawBody(c);
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new HttpError(400, 'the request body is not UTF-8 text');
  return text;
}

/** An object body (or none): its fields are checked by whoever reads them. */
export async function objectBody(c: HonoContext): Promise<Record<string, unknown>> {
  const v = await jsonBody(c);
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'the request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Query flags as the CLI's switches: 1/true/yes on, 0/false/no or absent off. */
export function flag(c: HonoContext, name: string): boolean {
  const v = c.req.query(name);
  if (v === undefined) return false;
  if (['', '1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw new HttpError(400, `invalid ?${name}=${v}: expected 1 or 0`);
}
