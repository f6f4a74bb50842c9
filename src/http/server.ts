import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Context } from '../context.js';
import { InputError, RunError } from '../errors.js';
import type { ResourceProbe } from '../run/resources.js';
import { buildApp } from './app.js';
import { createFeed } from './feed.js';
import { createSessions } from './sessions.js';

export interface Listen {
  host: string;
  port: number;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Starts `conductor serve`: resolves once it listens (port 0: one the system picks). */
export async function startServer(
  ctx: Context,
  o: { listen: Listen; probe: ResourceProbe; webDir: string },
): Promise<RunningServer> {
  const feed = createFeed(ctx);
  const app = buildApp({ ctx, sessions: createSessions(), feed, probe: o.probe, webDir: o.webDir });
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new RunError(
          `cannot listen on ${hostPort(o.listen)}: ${err.code === 'EADDRINUSE' ? 'the address is in use' : err.message} (choose another with --listen HOST:PORT)`,
        ),
      ),
    );
    server.listen(o.listen.port, o.listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${hostPort({ host: o.listen.host, port })}`,
    close: () =>
      new Promise((resolve) => {
        feed.close();
        // Streams (SSE, a followed log) never end by themselves: closed with the server.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function hostPort(l: Listen): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

/** `--listen HOST:PORT`, `[::1]:PORT`, or `:PORT` (all interfaces). */
export function parseListen(text: string): Listen {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new InputError(`invalid --listen '${text}': expected HOST:PORT, e.g. 127.0.0.1:8787 or [::1]:8787`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
