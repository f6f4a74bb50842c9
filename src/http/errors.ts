import type { Context as HonoContext } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { InputError, messageOf, NotFoundError, RunError } from '../errors.js';
import { printable } from '../text.js';

/** A refusal the HTTP layer makes itself (no token, too small a scope, a body that is not JSON). */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The answer to a failed request, always `{"error": "..."}`: 400 for what the CLI exits 2 on, 404
 * for an id that names nothing, 500 for the rest. A bug's stack stays in the server's log; the
 * client learns only that it happened.
 */
export function errorResponse(c: HonoContext, err: unknown): Response {
  if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
  if (err instanceof NotFoundError) return c.json({ error: messageOf(err) }, 404);
  if (err instanceof InputError) return c.json({ error: messageOf(err) }, 400);
  if (err instanceof RunError) return c.json({ error: messageOf(err) }, 500);
  process.stderr.write(
    `conductor: serve: ${printable(c.req.method + ' ' + c.req.path)}: ${printable(String((err as Error)?.stack ?? err))}\n`,
  );
  return c.json({ error: 'internal error (the server log has the details)' }, 500);
}
