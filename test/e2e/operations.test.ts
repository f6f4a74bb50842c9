// Issue 15 (operations), item by item as they land.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, fileStoreOnly, json, ok, readLines, tempHome, workDir } from '../helpers.js';

describe('handlers can call conductor', () => {
  it("under cron's PATH a handler finds conductor first on PATH, and CONDUCTOR_BIN names its folder", async () => {
    const home = tempHome();
    const dir = workDir(home);
    await ok(home, [
      'create',
      'first',
      'First',
      `echo "$CONDUCTOR_BIN" > ${dir}/bin; conductor trigger next.step`,
      'event',
      'go',
    ]);
    await ok(home, ['create', 'second', 'Second', `echo ran >> ${dir}/second`, 'event', 'next.step']);
    await ok(home, ['trigger', 'go']);
    const r = await cli(home, ['process'], { PATH: '/usr/bin:/bin' });
    expect(r.code, r.stderr).toBe(0);
    const hist = await json<any[]>(home, ['history']);
    expect(hist.map((x) => `${x.task_id}:${x.status}`).sort()).toEqual(['first:success', 'second:success']);
    expect(readLines(`${dir}/second`)).toEqual(['ran']);
    expect(readLines(`${dir}/bin`)).toEqual([path.dirname(BIN)]);
    expect(fs.existsSync(path.join(readLines(`${dir}/bin`)[0], 'conductor'))).toBe(true);
  });
});

describe('consistent answers', () => {
  it('history of an id that is neither a schedule nor in history exits 2, like get; a deleted schedule keeps its history', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    const r = await cli(home, ['history', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown task id 'nope'/);
    expect((await cli(home, ['history', 'a', '--json'])).stdout.trim()).toBe('[]');
    await ok(home, ['trigger', 'e']);
    await ok(home, ['process']);
    await ok(home, ['delete', 'a']);
    expect((await json<any[]>(home, ['history', 'a'])).map((x) => x.status)).toEqual(['success']);
  });
});

describe('logs that can be read later', () => {
  it('every line process writes to a file or pipe starts with an ISO-8601 timestamp', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    await ok(home, ['trigger', 'e']);
    const r = await cli(home, ['process']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z) \S/);
    expect(Math.abs(Date.parse(lines[0].split(' ')[0]) - Date.now())).toBeLessThan(60_000);
    // --json is a document, not log lines.
    await ok(home, ['trigger', 'e']);
    expect(JSON.parse((await cli(home, ['process', '--json'])).stdout).succeeded).toBe(1);
  });
});

describe('the wrong directory is obvious', () => {
  const reads = [
    ['list'],
    ['get', 'a'],
    ['status'],
    ['history'],
    ['logs', 'x'],
    ['stats'],
    ['health'],
    ['dlq', 'list'],
    ['events'],
    ['export'],
  ];
  it.skipIf(!fileStoreOnly)('read verbs on a missing home exit 1, name the home and the fix, and create nothing', async () => {
    const home = tempHome();
    for (const args of reads) {
      for (const extra of [[], ['--json']]) {
        const r = await cli(home, [...args, ...extra]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
        expect(r.stderr.trim()).toBe(`conductor: no conductor home at ${home} (set --home or CONDUCTOR_HOME)`);
        expect(r.stdout).toBe('');
        expect(fs.existsSync(home)).toBe(false);
      }
    }
    // A verb that writes creates the home, as before; then reads answer.
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    expect((await json<any[]>(home, ['list'])).map((s) => s.task_id)).toEqual(['a']);
  });
});

describe('queue --count --json', () => {
  it('prints an array of entries of the shape queue --json prints, for any N', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'e']);
    const one = await json(home, ['queue', 'a']);
    for (const n of ['1', '3']) {
      const many = await json<any[]>(home, ['queue', 'a', '--count', n]);
      expect(Array.isArray(many)).toBe(true);
      expect(many).toHaveLength(Number(n));
      for (const e of many) expect(Object.keys(e).sort()).toEqual(Object.keys(one).sort());
    }
  });
});
