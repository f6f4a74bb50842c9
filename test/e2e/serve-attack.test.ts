import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, json, ok, tempHome } from '../helpers.js';
import { serve, token, type Served } from '../serve.js';

/** What an attacker, or a careless client, tries against `conductor serve`, beyond the happy paths. */

const running: Served[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

async function served(home: string): Promise<Served> {
  const s = await serve(home);
  running.push(s);
  return s;
}

/** Reads a stream until it ends or `ms` pass; what came, and whether it ended. */
async function drain(r: Response, ms: number): Promise<{ text: string; ended: boolean }> {
  const reader = r.body!.getReader();
  let text = '';
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      await reader.cancel();
      return { text, ended: false };
    }
    const next = await Promise.race([reader.read(), new Promise<null>((res) => setTimeout(() => res(null), left))]);
    if (next === null) continue;
    if (next.done) return { text, ended: true };
    text += new TextDecoder().decode(next.value);
  }
}

async function untilText(r: Response, re: RegExp): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const reader = r.body!.getReader();
  let text = '';
  while (!re.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${re}: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return reader;
}

describe('conductor serve: a revoked token or a closed session stops its open streams', () => {
  it('the event stream of a revoked token ends instead of sending more', async () => {
    const home = tempHome();
    await ok(home, ['create', 'ok', 'Ok', 'true', 'event', 'go']);
    const read = await token(home, 'watcher', 'read');
    const s = await served(home);
    const r = await s.get('/api/v1/stream', read);
    await untilText(r, /event: ready/);
    await new Promise((res) => setTimeout(res, 700));
    await ok(home, ['token', 'revoke', 'watcher']);
    const id = (await ok(home, ['queue', 'ok'])).trim();
    const after = await drain(r, 4000);
    expect(after.text).not.toContain(id);
    expect(after.ended).toBe(true);
  });

  it('the event stream of a dashboard session ends once it logs out', async () => {
    const home = tempHome();
    await ok(home, ['create', 'ok', 'Ok', 'true', 'event', 'go']);
    const read = await token(home, 'watcher', 'read');
    const s = await served(home);
    const login = await s.post('/api/v1/session', null, { token: read });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const r = await s.get('/api/v1/stream', null, { headers: { cookie } });
    await untilText(r, /event: ready/);
    await new Promise((res) => setTimeout(res, 700));
    await fetch(s.url + '/api/v1/session', { method: 'DELETE', headers: { cookie } });
    const id = (await ok(home, ['queue', 'ok'])).trim();
    const after = await drain(r, 4000);
    expect(after.text).not.toContain(id);
    expect(after.ended).toBe(true);
  });

  it('a followed log stops for a token revoked while the run goes on', async () => {
    const home = tempHome();
    const dir = path.dirname(home);
    const script = `echo first; while [ ! -e ${dir}/more ]; do sleep 0.1; done; echo secret-second; while [ ! -e ${dir}/go ]; do sleep 0.1; done`;
    await ok(home, ['create', 'slow', 'Slow', script, 'event', 'e']);
    const read = await token(home, 'tail', 'read');
    const s = await served(home);
    await ok(home, ['queue', 'slow']);
    const pass = cli(home, ['process']);
    try {
      let exec: string | null = null;
      for (let i = 0; i < 100 && !exec; i++) {
        exec = (await json(home, ['status'])).find((x: any) => x.status === 'running')?.execution_id ?? null;
        if (!exec) await new Promise((res) => setTimeout(res, 100));
      }
      const r = await s.get(`/api/v1/runs/${exec}/log?follow=1`, read);
      await untilText(r, /first/);
      await ok(home, ['token', 'revoke', 'tail']);
      fs.writeFileSync(`${dir}/more`, '');
      const after = await drain(r, 3000);
      expect(after.text).not.toContain('secret-second');
      expect(after.ended).toBe(true);
    } finally {
      fs.writeFileSync(`${dir}/go`, '');
      await pass;
    }
  });
});

describe('conductor serve: what reaches the server before any token or signature is checked', () => {
  it('the login takes only a JSON body: a cross-site form cannot log a browser in', async () => {
    const home = tempHome();
    const read = await token(home, 'reader', 'read');
    const s = await served(home);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await s.post('/api/v1/session', null, JSON.stringify({ token: read }), { headers: { 'content-type': type } });
      expect(r.status, type).toBe(415);
      expect(r.headers.get('set-cookie'), type).toBeNull();
      expect((await r.json()).error).toMatch(/application\/json/);
    }
    expect((await s.post('/api/v1/session', null, { token: read })).status).toBe(200);
  });

  it('an unsigned webhook or a login cannot make the server hold megabytes', async () => {
    const home = tempHome();
    await json(home, ['hook', 'create', 'gh', '--event', 'go']);
    const s = await served(home);
    const big = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) });
    const hook = await s.post('/hooks/gh', null, big, { headers: { 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) } });
    expect(hook.status).toBe(413);
    expect((await hook.json()).error).toMatch(/bytes/);
    expect((await s.post('/api/v1/session', null, big)).status).toBe(413);
    expect(await json(home, ['status'])).toEqual([]);
  });
});
