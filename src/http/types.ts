import type { Scope } from '../app/tokens.js';
import type { Context } from '../context.js';
import type { ResourceProbe } from '../run/resources.js';
import type { Feed } from './feed.js';
import type { Session, Sessions } from './sessions.js';

/** Who made a request: the token's name and scope, and the dashboard session it came through. */
export interface Caller {
  name: string;
  scope: Scope;
  session: Session | null;
  /** Is the token (and the session) still good? Streams ask before each write: a revoke ends them. */
  stillValid(): Promise<boolean>;
}

/** Hono's per-request variables. */
export interface Env {
  Variables: { caller: Caller };
}

/** What the routes work with: the use cases' context, and the server's own parts. */
export interface ServerDeps {
  ctx: Context;
  sessions: Sessions;
  feed: Feed;
  probe: ResourceProbe;
  /** dist/web: the dashboard's built files. */
  webDir: string;
}
