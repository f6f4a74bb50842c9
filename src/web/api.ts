// The one way the dashboard talks to the server: JSON under /api/v1, the session cookie sent by
// the browser, and the session's CSRF token on every write (the server refuses writes without it).
import type { Session } from './types';

const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What to tell a person about a failed call: the server's own words when it sent any. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let csrf: string | null = null;
let unauthorized: () => void = () => {};

/** The session writes are made in (null after logging out). */
export function setSession(session: Session | null): void {
  csrf = session?.csrf ?? null;
}

/** Called when the server no longer knows the session (expired, revoked): the app shows the login page. */
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
}

async function errorOf(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: unknown };
    if (typeof body.error === 'string') message = body.error;
  } catch {
    /* not JSON: the status line says enough */
  }
  return new ApiError(res.status, message);
}

async function request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = {};
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    signal,
  });
  if (res.ok) return res;
  if (res.status === 401 && path !== '/session') unauthorized();
  throw await errorOf(res);
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request('GET', path)).json()) as T;
}

export async function getText(path: string): Promise<string> {
  return (await request('GET', path)).text();
}

/** A write; answers the document the server sent back, or null (204). */
export async function post<T = unknown>(path: string, body?: unknown): Promise<T | null> {
  const res = await request('POST', path, body);
  return res.status === 204 ? null : ((await res.json()) as T);
}

export async function remove(path: string): Promise<void> {
  await request('DELETE', path);
}

/** Reads a streamed text response (a log followed while its run goes on), chunk by chunk, until it ends. */
export async function follow(path: string, onText: (text: string) => void, signal: AbortSignal): Promise<void> {
  const res = await request('GET', path, undefined, signal);
  if (!res.body) return onText(await res.text());
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onText(value);
  }
}

/** The path with its query built from the given values, empty ones left out. */
export function withQuery(path: string, query: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const enc = encodeURIComponent;
