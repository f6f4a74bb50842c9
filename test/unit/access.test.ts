import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHook, revokeHook, verifyHook } from '../../src/app/hooks.js';
import { authenticate, createToken, revokeToken, SCOPES, scopeAllows } from '../../src/app/tokens.js';
import type { Context } from '../../src/context.js';
import { FileStore } from '../../src/store/file/index.js';

// The use cases the HTTP server calls for every request, against a real file store in a temp dir.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse('2030-01-01T00:00:00Z');

/** A context over a fresh file store whose clock the test moves. */
function context(): Context & { now: number; home: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conductor-access-'));
  dirs.push(dir);
  const store = new FileStore(path.join(dir, 'home'));
  store.init();
  const ctx = { store, now: T0, home: store.home, clock: () => ctx.now };
  return ctx;
}

const sign = (secret: string, body: Buffer | string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('scopeAllows', () => {
  it('read < operate < admin', () => {
    expect(SCOPES).toEqual(['read', 'operate', 'admin']);
    const allowed = SCOPES.flatMap((have) => SCOPES.filter((need) => scopeAllows(have, need)).map((need) => `${have}>${need}`));
    expect(allowed).toEqual(['read>read', 'operate>read', 'operate>operate', 'admin>read', 'admin>operate', 'admin>admin']);
  });
});

describe('authenticate', () => {
  it('answers the token whose secret is presented, none for a wrong one', async () => {
    const ctx = context();
    const a = await createToken(ctx, { name: 'a', scope: 'read' });
    const b = await createToken(ctx, { name: 'b', scope: 'admin', expiresInMs: 60_000 });
    expect(await authenticate(ctx, a.token)).toEqual({ name: 'a', scope: 'read', expires_at: null });
    expect(await authenticate(ctx, b.token)).toEqual({ name: 'b', scope: 'admin', expires_at: b.expires_at });
    expect(await authenticate(ctx, `${a.token}x`)).toBeNull();
    expect(await authenticate(ctx, a.token.slice(0, -1))).toBeNull();
    expect(await authenticate(ctx, '')).toBeNull();
    expect(await authenticate(ctx, 'sha256:' + '0'.repeat(64))).toBeNull();
  });

  it('none once it expired, from the context clock', async () => {
    const ctx = context();
    const t = await createToken(ctx, { name: 'short', scope: 'operate', expiresInMs: 3_600_000 });
    expect(t.expires_at).not.toBeNull();
    ctx.now = T0 + 3_599_000;
    expect(await authenticate(ctx, t.token)).toMatchObject({ name: 'short' });
    ctx.now = T0 + 3_600_000;
    expect(await authenticate(ctx, t.token)).toBeNull();
  });

  it('none once revoked; the other tokens still work', async () => {
    const ctx = context();
    const a = await createToken(ctx, { name: 'a', scope: 'read' });
    const b = await createToken(ctx, { name: 'b', scope: 'operate' });
    expect(await revokeToken(ctx, 'a')).toEqual({ name: 'a', revoked: true });
    expect(await authenticate(ctx, a.token)).toBeNull();
    expect(await authenticate(ctx, b.token)).toMatchObject({ name: 'b', scope: 'operate' });
    await expect(revokeToken(ctx, 'a')).rejects.toThrow(/unknown token 'a'/);
  });

  it('a corrupt token file beside them is set aside; the others still work', async () => {
    const ctx = context();
    const a = await createToken(ctx, { name: 'a', scope: 'read' });
    fs.writeFileSync(path.join(ctx.home, 'access', 'tokens', 'zz.json'), '{"format":1,"name":"zz","scope":"admin"}');
    expect(await authenticate(ctx, a.token)).toMatchObject({ name: 'a' });
    expect(ctx.store.problems.map((p) => p.moved_to)).toEqual(['quarantine/tokens__zz.json']);
  });
});

describe('verifyHook', () => {
  it('accepts the signature of this body with this secret, and nothing else', async () => {
    const ctx = context();
    const h = await createHook(ctx, { name: 'gh', event: 'deploy.requested' });
    const other = await createHook(ctx, { name: 'other', event: 'x' });
    const body = Buffer.from('{"ref":"main"}');
    const ok = { name: 'gh', event: 'deploy.requested' };
    expect(await verifyHook(ctx, 'gh', body, sign(h.secret, body))).toEqual(ok);
    expect(await verifyHook(ctx, 'gh', body, sign(h.secret, body).toUpperCase().replace('SHA256=', 'sha256='))).toEqual(ok);
    expect(await verifyHook(ctx, 'gh', Buffer.from('{"ref":"main"} '), sign(h.secret, body))).toBeNull();
    expect(await verifyHook(ctx, 'gh', body, sign(other.secret, body))).toBeNull();
    expect(await verifyHook(ctx, 'gh', body, undefined)).toBeNull();
    expect(await verifyHook(ctx, 'gh', body, '')).toBeNull();
    const sha1 = `sha1=${createHmac('sha1', h.secret).update(body).digest('hex')}`;
    expect(await verifyHook(ctx, 'gh', body, sha1)).toBeNull();
    expect(await verifyHook(ctx, 'gh', body, sign(h.secret, body).slice(0, -2))).toBeNull();
    expect(await verifyHook(ctx, 'gh', body, `${sign(h.secret, body)}00`)).toBeNull();
    expect(await verifyHook(ctx, 'nope', body, sign(h.secret, body))).toBeNull();
    expect(await verifyHook(ctx, '../gh', body, sign(h.secret, body))).toBeNull();
    await revokeHook(ctx, 'gh');
    expect(await verifyHook(ctx, 'gh', body, sign(h.secret, body))).toBeNull();
  });

  it('an empty body and a binary one are signed like any other', async () => {
    const ctx = context();
    const h = await createHook(ctx, { name: 'gh', event: 'e' });
    for (const body of [Buffer.alloc(0), Buffer.from([0, 255, 10, 13])]) {
      expect(await verifyHook(ctx, 'gh', body, sign(h.secret, body))).toEqual({ name: 'gh', event: 'e' });
    }
  });
});
