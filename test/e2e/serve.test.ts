import { execa } from 'execa';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, json, ok, tempHome } from '../helpers.js';
import { serve, token, type Served } from '../serve.js';

const running: Served[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

async function setup() {
  const home = tempHome();
  await ok(home, ['create', 'ok', 'Ok', 'echo hello from ok', 'event', 'go']);
  await ok(home, ['create', 'bad', 'Bad', 'echo broken >&2; exit 3', 'event', 'go']);
  await ok(home, ['create', 'nightly', 'Nightly', 'true', 'cron', '30 2 * * *', '--tz', 'Europe/Berlin']);
  const tokens = {
    read: await token(home, 'reader', 'read'),
    operate: await token(home, 'operator', 'operate'),
    admin: await token(home, 'root', 'admin'),
  };
  const s = await serve(home);
  running.push(s);
  return { home, s, ...tokens };
}

const body = async (r: Response) => ({ status: r.status, json: await r.json() });

describe('conductor serve: tokens and scopes', () => {
  it('refuses requests without a valid token (401) and with too small a scope (403), as JSON', async () => {
    const { s, read, operate } = await setup();
    expect(await body(await s.get('/api/v1/schedules'))).toMatchObject({ status: 401, json: { error: expect.any(String) } });
    expect((await s.get('/api/v1/schedules', 'cdt_not-a-token')).status).toBe(401);
    expect((await s.get('/api/v1/schedules', null, { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    expect((await s.get('/metrics')).status).toBe(401);
    expect((await s.get('/api/v1/openapi.json')).status).toBe(401);
    const refused = await body(await s.post('/api/v1/schedules/ok/disable', read));
    expect(refused).toEqual({ status: 403, json: { error: expect.stringContaining('operate') } });
    expect((await s.post('/api/v1/pause', read)).status).toBe(403);
    expect((await s.post('/api/v1/dlq/purge', operate)).status).toBe(403);
    expect((await s.post('/api/v1/apply', operate, 'schedules: []')).status).toBe(403);
    expect((await s.get('/api/v1/schedules', read)).status).toBe(200);
  });

  it('a revoked token is refused at once', async () => {
    const { home, s, read } = await setup();
    expect((await s.get('/api/v1/stats', read)).status).toBe(200);
    await ok(home, ['token', 'revoke', 'reader']);
    expect((await s.get('/api/v1/stats', read)).status).toBe(401);
  });
});

describe('conductor serve: the API answers as the CLI', () => {
  it('read routes equal the CLI --json', async () => {
    const { home, s, read } = await setup();
    await ok(home, ['trigger', 'go']);
    await cli(home, ['process']);
    const same = async (route: string, args: string[]) => {
      const r = await s.get(route, read);
      expect(r.status, route).toBe(200);
      expect(await r.json(), route).toEqual(await json(home, args));
    };
    await same('/api/v1/schedules', ['list']);
    await same('/api/v1/schedules/nightly', ['get', 'nightly']);
    await same('/api/v1/runs', ['history']);
    await same('/api/v1/runs?task=ok', ['history', 'ok']);
    await same('/api/v1/runs?limit=1', ['history', '--limit', '1']);
    await same('/api/v1/dlq', ['dlq', 'list']);
    await same('/api/v1/stats', ['stats']);
    await ok(home, ['queue', 'ok']);
    await same('/api/v1/queue', ['status']);
    const failed = (await (await s.get('/api/v1/runs?status=failed', read)).json()) as { task_id: string }[];
    expect(failed.map((x) => x.task_id)).toEqual(['bad']);
    const [x] = await json(home, ['history', 'ok']);
    expect(await (await s.get(`/api/v1/runs/${x.execution_id}`, read)).json()).toEqual(x);
    const log = await s.get(`/api/v1/runs/${x.execution_id}/log`, read);
    expect(await log.text()).toBe('hello from ok\n');
    const asJson = await s.get(`/api/v1/runs/${x.execution_id}/log`, read, { headers: { accept: 'application/json' } });
    expect(await asJson.json()).toEqual(await json(home, ['logs', x.execution_id]));
  });

  it('writes: enable, disable, queue, trigger, cancel, pause, resume', async () => {
    const { home, s, operate } = await setup();
    expect(await body(await s.post('/api/v1/schedules/ok/disable', operate))).toMatchObject({
      status: 200,
      json: { task_id: 'ok', enabled: false },
    });
    expect((await json(home, ['get', 'ok'])).enabled).toBe(false);
    await s.post('/api/v1/schedules/ok/enable', operate);
    const queued = await body(await s.post('/api/v1/schedules/ok/queue', operate, { priority: 9, payload: { n: 1 } }));
    expect(queued).toMatchObject({ status: 201, json: { task_id: 'ok', priority: 9, payload: '{"n":1}' } });
    const cancelled = await body(await s.post(`/api/v1/queue/${queued.json.entry_id}/cancel`, operate));
    expect(cancelled).toMatchObject({ status: 200, json: { entry_id: queued.json.entry_id } });
    const t = await body(await s.post('/api/v1/events/go', operate, { ref: 'main' }));
    expect(t.status).toBe(200);
    expect(Object.keys(t.json).sort()).toEqual(['event', 'queued']);
    expect(t.json.queued).toHaveLength(2);
    const rows = await json(home, ['status']);
    expect(rows.map((r: any) => r.entry_id).sort()).toEqual([...t.json.queued].sort());
    expect(await body(await s.post('/api/v1/pause', operate))).toEqual({ status: 200, json: { paused: true } });
    expect(await body(await s.post('/api/v1/resume', operate))).toEqual({ status: 200, json: { paused: false } });
  });

  it('a malformed payload queues nothing (400); unknown ids are 404; bad ids 400; never a stack trace', async () => {
    const { home, s, operate, read } = await setup();
    const bad = await body(await s.post('/api/v1/events/go', operate, '{"unterminated'));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/not valid JSON/);
    expect(await json(home, ['status'])).toEqual([]);
    expect((await s.post('/api/v1/events/bad%20event', operate)).status).toBe(400);
    expect((await s.post('/api/v1/schedules/ok/queue', operate, { priority: 11 })).status).toBe(400);
    expect((await s.post('/api/v1/schedules/ok/queue', operate, { colour: 'red' })).status).toBe(400);
    expect(await json(home, ['status'])).toEqual([]);
    for (const route of ['/api/v1/schedules/nope', '/api/v1/runs/nope', '/api/v1/runs/nope/log', '/api/v1/runs?task=nope']) {
      const r = await body(await s.get(route, read));
      expect(r.status, route).toBe(404);
      expect(r.json.error).toMatch(/unknown/);
    }
    expect((await s.post('/api/v1/queue/nope/cancel', operate)).status).toBe(404);
    expect((await s.post('/api/v1/dlq/nope/retry', operate)).status).toBe(404);
    expect((await s.post('/api/v1/schedules/nope/enable', operate)).status).toBe(404);
    expect((await s.get('/api/v1/schedules/..%2F..%2Fetc', read)).status).toBe(400);
    expect((await s.get('/api/v1/runs?status=sideways', read)).status).toBe(400);
    expect((await s.get('/api/v1/runs?limit=0', read)).status).toBe(400);
    const missing = await body(await s.get('/api/v1/no-such-route', read));
    expect(missing.status).toBe(404);
    expect(JSON.stringify(missing.json)).not.toMatch(/at .*\.(js|ts|cjs):\d+/);
  });

  it('dead letters: list, retry (operate), purge (admin)', async () => {
    const { home, s, operate, admin, read } = await setup();
    await ok(home, ['create', 'flaky', 'Flaky', 'exit 3', 'event', 'never', '--retries', '1', '--backoff', '1s']);
    await ok(home, ['queue', 'flaky', '--count', '2']);
    await cli(home, ['process']);
    await new Promise((res) => setTimeout(res, 1100));
    await cli(home, ['process']);
    const dead = (await (await s.get('/api/v1/dlq', read)).json()) as { entry_id: string }[];
    expect(dead).toHaveLength(2);
    const retried = await body(await s.post(`/api/v1/dlq/${dead[0].entry_id}/retry`, operate));
    expect(retried).toMatchObject({ status: 200, json: { entry_id: dead[0].entry_id, attempt: 1 } });
    expect((await json(home, ['status'])).map((r: any) => r.entry_id)).toEqual([dead[0].entry_id]);
    expect(await body(await s.post('/api/v1/dlq/purge', admin))).toEqual({ status: 200, json: { purged: 1 } });
    expect(await json(home, ['dlq', 'list'])).toEqual([]);
  });

  it('health is 200 when healthy and 503 when not, with the CLI document', async () => {
    const { home, s, read } = await setup();
    const before = await s.get('/api/v1/health', read);
    expect(before.status).toBe(503);
    expect((await before.json()).healthy).toBe(false);
    await cli(home, ['process']);
    const after = await s.get('/api/v1/health', read);
    expect(after.status).toBe(200);
    expect((await after.json()).healthy).toBe(true);
  });

  it('apply takes a schedules file (admin), all or nothing', async () => {
    const { home, s, admin } = await setup();
    const file =
      'schedules:\n  - task_id: fresh\n    task_name: Fresh\n    handler: "true"\n    schedule_type: event\n    schedule_expr: fresh\n';
    const r = await body(await s.post('/api/v1/apply', admin, file, { headers: { 'content-type': 'application/yaml' } }));
    expect(r).toMatchObject({ status: 200, json: { dry_run: false, changes: [{ op: '+', task_id: 'fresh' }] } });
    expect((await json(home, ['get', 'fresh'])).task_name).toBe('Fresh');
    const broken = await s.post('/api/v1/apply', admin, 'schedules:\n  - task_id: x\n    schedule_type: sometimes\n');
    expect(broken.status).toBe(400);
    expect((await json(home, ['list'])).length).toBe(4);
  });

  it('the next runs of a cron schedule mark DST gaps and repeats', async () => {
    const home = tempHome();
    await ok(home, ['create', 'early', 'Early', 'true', 'cron', '30 2 * * *', '--tz', 'Europe/Berlin']);
    await ok(home, ['create', 'late', 'Late', 'true', 'cron', '30 2 * * *', '--tz', 'America/New_York']);
    const read = await token(home, 'r', 'read');
    const s = await serve(home, { CONDUCTOR_NOW: '2026-03-27T12:00:00Z' });
    running.push(s);
    const early = await (await s.get('/api/v1/schedules/early/next?count=3', read)).json();
    expect(early.runs).toEqual([
      { at: '2026-03-28T02:30:00+01:00', dst: null },
      { at: '2026-03-29T03:00:00+02:00', dst: 'gap' },
      { at: '2026-03-30T02:30:00+02:00', dst: null },
    ]);
    const s2 = await serve(home, { CONDUCTOR_NOW: '2026-10-24T12:00:00Z' });
    running.push(s2);
    const fall = await (await s2.get('/api/v1/schedules/early/next?count=2', read)).json();
    expect(fall.runs).toEqual([
      { at: '2026-10-25T02:30:00+02:00', dst: 'repeat' },
      { at: '2026-10-26T02:30:00+01:00', dst: null },
    ]);
  });
});

describe('conductor serve: metrics, OpenAPI, stream, log follow', () => {
  it('GET /metrics passes promtool check metrics', async () => {
    const { home, s, read } = await setup();
    await ok(home, ['trigger', 'go']);
    await cli(home, ['process']);
    const r = await s.get('/metrics', read);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(text).toMatch(/conductor_executions_total\{[^}]*task="ok"[^}]*status="success"[^}]*\} 1/);
    const check = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    expect(check.exitCode, check.stderr + check.stdout).toBe(0);
    expect((await s.get('/api/v1/metrics', read)).status).toBe(200);
  });

  it('serves an OpenAPI document naming every route the server has', async () => {
    const { s, read } = await setup();
    const doc = await (await s.get('/api/v1/openapi.json', read)).json();
    expect(doc.openapi).toMatch(/^3\./);
    const { buildApp } = await import('../../src/http/app.js');
    const app = buildApp({
      ctx: null as never,
      sessions: null as never,
      feed: null as never,
      probe: null as never,
      webDir: '/nonexistent',
    });
    const documented = new Set<string>();
    for (const [p, ops] of Object.entries<Record<string, unknown>>(doc.paths))
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${p.startsWith('/hooks') ? p : '/api/v1' + p}`);
    const routes = app.routes
      .filter((r) => r.method !== 'ALL' && (r.path.startsWith('/api/v1/') || r.path.startsWith('/hooks/')))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    for (const r of new Set(routes)) expect(documented, r).toContain(r);
  });

  it('streams queued, started and finished as server-sent events', async () => {
    const { home, s, read } = await setup();
    const r = await s.get('/api/v1/stream', read);
    expect(r.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = r.body!.getReader();
    let text = '';
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 15_000;
      while (!re.test(text)) {
        if (Date.now() > deadline) throw new Error(`no ${re} in ${text}`);
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += new TextDecoder().decode(value);
      }
    };
    await until(/event: ready/);
    await new Promise((res) => setTimeout(res, 700));
    const id = (await ok(home, ['queue', 'ok'])).trim();
    await until(new RegExp(`event: queued\\ndata: \\{"entry_id":"${id}"`));
    await cli(home, ['process']);
    await until(
      new RegExp(`event: finished\\ndata: \\{"entry_id":"${id}","task_id":"ok","execution_id":"[^"]+","status":"success"`),
    );
    await reader.cancel();
  });

  it('follows the log of a running execution until it ends', async () => {
    const home = tempHome();
    const dir = path.dirname(home);
    await ok(home, [
      'create',
      'slow',
      'Slow',
      `echo first; while [ ! -e ${dir}/go ]; do sleep 0.1; done; echo second`,
      'event',
      'e',
    ]);
    const read = await token(home, 'r', 'read');
    const s = await serve(home);
    running.push(s);
    await ok(home, ['queue', 'slow']);
    const pass = cli(home, ['process']);
    let exec: string | null = null;
    for (let i = 0; i < 100 && !exec; i++) {
      exec = (await json(home, ['status'])).find((r: any) => r.status === 'running')?.execution_id ?? null;
      if (!exec) await new Promise((res) => setTimeout(res, 100));
    }
    expect(exec).toBeTruthy();
    const r = await s.get(`/api/v1/runs/${exec}/log?follow=1`, read);
    const reader = r.body!.getReader();
    let text = '';
    while (!text.includes('first')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the log ended before the run did: ${text}`);
      text += new TextDecoder().decode(value);
    }
    fs.writeFileSync(`${dir}/go`, '');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toBe('first\nsecond\n');
    await pass;
  });
});

describe('conductor serve: the dashboard session and webhooks', () => {
  it('logs in with a token: an HttpOnly SameSite=Strict cookie, CSRF on writes', async () => {
    const { s, operate } = await setup();
    expect((await s.post('/api/v1/session', null, { token: 'cdt_wrong' })).status).toBe(401);
    const login = await s.post('/api/v1/session', null, { token: operate });
    expect(login.status).toBe(200);
    const doc = await login.json();
    expect(doc).toMatchObject({ name: 'operator', scope: 'operate', csrf: expect.any(String) });
    expect(JSON.stringify(doc)).not.toContain(operate);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(operate);
    const cookie = setCookie.split(';')[0];
    expect((await s.get('/api/v1/schedules', null, { headers: { cookie } })).status).toBe(200);
    expect((await s.post('/api/v1/pause', null, undefined, { headers: { cookie } })).status).toBe(403);
    const withCsrf = await s.post('/api/v1/pause', null, undefined, { headers: { cookie, 'x-csrf-token': doc.csrf } });
    expect(withCsrf.status).toBe(200);
    await fetch(s.url + '/api/v1/session', { method: 'DELETE', headers: { cookie } });
    expect((await s.get('/api/v1/schedules', null, { headers: { cookie } })).status).toBe(401);
  });

  it('a signed webhook triggers its event; a bad signature is 401 and queues nothing', async () => {
    const home = tempHome();
    await ok(home, ['create', 'deploy', 'Deploy', 'echo "$CONDUCTOR_PAYLOAD"', 'event', 'github.push']);
    const hook = await json(home, ['hook', 'create', 'github', '--event', 'github.push']);
    expect(hook.path).toBe('/hooks/github');
    const s = await serve(home);
    running.push(s);
    const payload = JSON.stringify({ ref: 'refs/heads/main' });
    const sign = (secret: string, b: string) => 'sha256=' + createHmac('sha256', secret).update(b).digest('hex');
    for (const signature of [undefined, sign('wrong', payload), sign(hook.secret, payload + ' '), 'sha1=abc']) {
      const r = await s.post('/hooks/github', null, payload, { headers: signature ? { 'x-hub-signature-256': signature } : {} });
      expect(r.status).toBe(401);
    }
    expect(
      (await s.post('/hooks/nobody', null, payload, { headers: { 'x-hub-signature-256': sign(hook.secret, payload) } })).status,
    ).toBe(401);
    expect(await json(home, ['status'])).toEqual([]);
    const good = await body(
      await s.post('/hooks/github', null, payload, { headers: { 'x-hub-signature-256': sign(hook.secret, payload) } }),
    );
    expect(good).toMatchObject({ status: 200, json: { event: 'github.push', queued: [expect.any(String)] } });
    await cli(home, ['process']);
    const [x] = await json(home, ['history']);
    expect(await ok(home, ['logs', x.execution_id])).toBe(payload + '\n');
  });
});
