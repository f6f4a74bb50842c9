import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fileStoreOnly, json, ok, readLines, tempHome, workDir } from '../helpers.js';

/** How long the overlapping passes go on; the reproducer ran for a minute. */
const SECONDS = Number(process.env.CONDUCTOR_TORTURE_SECONDS) || 60;

function duplicates(lines: string[]): string[] {
  const seen = new Set<string>();
  return lines.filter((l) => (seen.has(l) ? true : (seen.add(l), false)));
}

describe('torture: overlapping crontab passes', () => {
  it(
    `12 passes at once, again and again for ${SECONDS} s: every due run and run group runs exactly once, by the handlers' own output`,
    async () => {
      const home = tempHome();
      const work = workDir(home);
      const out = (name: string) => path.join(work, `${name}.txt`);
      await ok(home, ['create', 's', 'S', `echo $CONDUCTOR_ENTRY_ID >> ${out('s')}`, 'interval', '1s']);
      await ok(home, ['create', 'up', 'Up', `echo $CONDUCTOR_ENTRY_ID >> ${out('up')}`, 'event', 'never.fired']);
      await ok(home, [
        'create',
        'root',
        'Root',
        `echo $CONDUCTOR_ENTRY_ID >> ${out('root')}`,
        'interval',
        '2s',
        '--depends-on',
        'up',
      ]);
      const until = Date.now() + SECONDS * 1000;
      let rounds = 0;
      const codes = new Set<number>();
      while (Date.now() < until) {
        const passes = await Promise.all(Array.from({ length: 12 }, () => cli(home, ['process'])));
        for (const p of passes) codes.add(p.code);
        rounds++;
      }
      await ok(home, ['disable', 's']);
      await ok(home, ['disable', 'root']);
      await ok(home, ['process']);
      expect(await json(home, ['status'])).toEqual([]);
      expect([...codes]).toEqual([0]);
      const s = readLines(out('s'));
      const up = readLines(out('up'));
      const root = readLines(out('root'));
      expect(rounds).toBeGreaterThan(3);
      expect(s.length).toBeGreaterThan(SECONDS / 4);
      expect(duplicates(s)).toEqual([]);
      expect(duplicates(up)).toEqual([]);
      expect(duplicates(root)).toEqual([]);
      // One upstream run per firing of the root: a group is never queued twice.
      expect(up.length).toBe(root.length);
      // History shows every run the handlers saw, once each.
      const hist = await json<any[]>(home, ['history']);
      expect(
        hist
          .filter((x) => x.task_id === 's')
          .map((x) => x.entry_id)
          .sort(),
      ).toEqual([...s].sort());
    },
    SECONDS * 1000 + 120_000,
  );
});

describe('a pass that waited for a schedule lock', () => {
  it('does not take what other passes promoted meanwhile for a clock that went back: each due time runs once', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'interval', '1s', '--catch-up', 'all', '--overlap', 'allow']);
    await new Promise((r) => setTimeout(r, 1500));
    if (fileStoreOnly) {
      // What a pass killed while holding the lock leaves: the next waits for it to go stale (10 s).
      fs.mkdirSync(path.join(home, 'locks', 'schedule-a.lock'));
    }
    const first = cli(home, ['process']);
    await new Promise((r) => setTimeout(r, 5000));
    const second = cli(home, ['process']);
    expect((await first).code).toBe(0);
    expect((await second).code).toBe(0);
    await ok(home, ['disable', 'a']);
    await ok(home, ['process']);
    const times = (await json<any[]>(home, ['history', 'a'])).map((x) => x.scheduled_for);
    expect(times.length).toBeGreaterThan(3);
    expect(duplicates(times)).toEqual([]);
  }, 60_000);
});

describe('clocks a few seconds apart (two hosts, NTP slewing)', () => {
  it('a pass whose clock is 5 s behind does not re-arm a 1 s interval: no due time runs twice', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'interval', '1s', '--catch-up', 'all', '--overlap', 'allow']);
    await new Promise((r) => setTimeout(r, 3000));
    await ok(home, ['process']);
    await ok(home, ['process'], { CONDUCTOR_NOW: new Date(Date.now() - 5000).toISOString() });
    await new Promise((r) => setTimeout(r, 1500));
    await ok(home, ['process']);
    const times = (await json<any[]>(home, ['history', 'a'])).map((x) => x.scheduled_for);
    expect(times.length).toBeGreaterThan(2);
    expect(duplicates(times)).toEqual([]);
  });
});
