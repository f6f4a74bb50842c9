import { execa, type ResultPromise } from 'execa';
import * as path from 'node:path';
import { BIN, idleReadings, json, storeEnv } from './helpers.js';

/** A running `conductor serve` on a home, on a port the system picked. */
export interface Served {
  url: string;
  proc: ResultPromise;
  /** fetch relative to the server, with a token when given. */
  get(p: string, token?: string | null, init?: RequestInit): Promise<Response>;
  post(p: string, token?: string | null, body?: unknown, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

export async function serve(home: string, env: Record<string, string> = {}): Promise<Served> {
  const proc = execa(BIN, ['--home', home, 'serve', '--listen', '127.0.0.1:0'], {
    reject: false,
    env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...storeEnv(home), ...env },
    cwd: path.dirname(home),
    buffer: false,
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    void proc.then((r) => reject(new Error(`serve exited ${r.exitCode}: ${err}`)));
    setTimeout(() => reject(new Error(`serve did not listen within 20 s: ${err}`)), 20_000);
  });
  const headers = (token: string | null | undefined, init?: RequestInit) => ({
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...((init?.headers as Record<string, string>) ?? {}),
  });
  return {
    url,
    proc,
    get: (p, token, init) => fetch(url + p, { ...init, headers: headers(token, init) }),
    post: (p, token, body, init) =>
      fetch(url + p, {
        method: 'POST',
        ...init,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers(token, init) },
      }),
    async stop() {
      proc.kill('SIGTERM');
      await proc;
    },
  };
}

/** A fresh token of a scope, through the CLI. */
export async function token(home: string, name: string, scope: 'read' | 'operate' | 'admin'): Promise<string> {
  return (await json(home, ['token', 'create', name, '--scope', scope])).token;
}
