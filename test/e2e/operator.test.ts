import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, json, ok, sqlOn, STORE, tempHome } from '../helpers.js';

describe('next', () => {
  it('previews runs across DST in New York and Berlin', async () => {
    const home = tempHome();
    const ny = await json(home, [
      'next',
      '30 2 * * *',
      '--tz',
      'America/New_York',
      '--count',
      '2',
      '--from',
      '2026-03-07T12:00:00Z',
    ]);
    expect(ny.runs).toEqual(['2026-03-08T03:00:00-04:00', '2026-03-09T02:30:00-04:00']);
    expect(ny.description).toBe('At 02:30');
    const nyFall = await json(home, [
      'next',
      '30 1 * * *',
      '--tz',
      'America/New_York',
      '--count',
      '2',
      '--from',
      '2026-10-31T12:00:00Z',
    ]);
    expect(nyFall.runs).toEqual(['2026-11-01T01:30:00-04:00', '2026-11-02T01:30:00-05:00']);
    const berlin = await json(home, [
      'next',
      '0 * * * *',
      '--tz',
      'Europe/Berlin',
      '--count',
      '3',
      '--from',
      '2026-10-24T23:30:00Z',
    ]);
    expect(berlin.runs).toEqual(['2026-10-25T02:00:00+02:00', '2026-10-25T02:00:00+01:00', '2026-10-25T03:00:00+01:00']);
    const spring = await json(home, [
      'next',
      '30 2 * * *',
      '--tz',
      'Europe/Berlin',
      '--count',
      '1',
      '--from',
      '2026-03-28T12:00:00Z',
    ]);
    expect(spring.runs).toEqual(['2026-03-29T03:00:00+02:00']);
    const text = await ok(home, ['next', '@daily', '--tz', 'UTC', '--count', '2']);
    expect(text).toMatch(/At 00:00/);
    expect((await cli(home, ['next', '* * *'])).code).toBe(2);
    expect((await cli(home, ['next', '* * * * *', '--tz', 'Nowhere/City'])).code).toBe(2);
  });
});

/** A small parser for the text exposition format: every line a comment or `name{labels} value`. */
function parseExposition(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      expect(types.has(t[1]), `duplicate TYPE for ${t[1]}`).toBe(false);
      types.set(t[1], t[2]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+]+|NaN|\+Inf|-Inf)$/.exec(line);
    expect(m, `bad exposition line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    if (m![3]) {
      for (const part of m![3].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
        const i = part.indexOf('=');
        labels[part.slice(0, i)] = part.slice(i + 2, -1);
      }
    }
    // Histograms and summaries have their samples under suffixes of the family's name.
    const family = [m![1], m![1].replace(/_(bucket|sum|count)$/, '')].find((n) => types.has(n));
    expect(family, `sample before its TYPE: ${m![1]}`).toBeDefined();
    if (family !== m![1]) expect(['histogram', 'summary']).toContain(types.get(family!));
    samples.push({ name: m![1], labels, value: Number(m![4]) });
  }
  return samples;
}

describe('stats --format prometheus', () => {
  it('writes valid exposition format, atomically, to --output', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'G', 'true', 'event', 'never']);
    await ok(home, ['create', 'bad', 'B', 'false', 'event', 'never', '--breaker-threshold', '1']);
    await ok(home, ['queue', 'good']);
    await ok(home, ['queue', 'bad']);
    await ok(home, ['process']);
    await ok(home, ['queue', 'good']);
    const out = path.join(path.dirname(home), 'conductor.prom');
    await ok(home, ['stats', '--format', 'prometheus', '--output', out]);
    const samples = parseExposition(fs.readFileSync(out, 'utf8'));
    const get = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(get('conductor_queue_depth')).toBe(1);
    expect(get('conductor_executions_total', { task: 'good', status: 'success' })).toBe(1);
    expect(get('conductor_executions_total', { task: 'bad', status: 'failed' })).toBe(1);
    expect(get('conductor_breaker_state', { breaker: 'bad' })).toBe(2);
    expect(get('conductor_breaker_state', { breaker: 'good' })).toBe(0);
    expect(fs.readdirSync(path.dirname(out)).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    expect(parseExposition(await ok(home, ['stats', '--format', 'prometheus'])).length).toBeGreaterThan(5);
    expect((await cli(home, ['stats', '--format', 'xml'])).code).toBe(2);
  });
});

describe('health', () => {
  it('fails before any pass, passes after one, fails again when the heartbeat is old', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'event', 'never']);
    const before = await cli(home, ['health']);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/FAIL heartbeat/);
    await ok(home, ['process']);
    const h = await json(home, ['health']);
    expect(h.healthy).toBe(true);
    const storeChecks = STORE === 'file' ? ['locks', 'permissions'] : ['database', 'dispatchers'];
    expect(h.findings.map((f: any) => f.check)).toEqual(
      expect.arrayContaining(['heartbeat', 'running', 'quarantine', 'breakers', 'dlq', ...storeChecks]),
    );
    const later = await cli(home, ['health', '--json'], { CONDUCTOR_NOW: new Date(Date.now() + 10 * 60_000).toISOString() });
    expect(later.code).toBe(1);
    expect(JSON.parse(later.stdout).findings.find((f: any) => f.check === 'heartbeat').ok).toBe(false);
    // A foreign record in the store: set aside and reported, the rest keep working.
    if (STORE === 'file') fs.writeFileSync(path.join(home, 'schedules', 'junk.json'), '{');
    else sqlOn(home, `INSERT INTO conductor.schedules (task_id, body) VALUES ('junk', '{"hello": 1}')`);
    const l = await cli(home, ['list', '--json']);
    expect(l.code).toBe(0);
    expect(JSON.parse(l.stdout).map((s: any) => s.task_id)).toEqual(['a']);
    expect(l.stderr).toMatch(/junk/);
    const q = await cli(home, ['health']);
    expect(q.code).toBe(1);
    expect(q.stdout).toMatch(/FAIL quarantine: 1 (file|record)/);
  });
});

describe('output', () => {
  it('large JSON output through a pipe arrives whole', async () => {
    const home = tempHome();
    await ok(home, ['create', 'bulk', 'Bulk', 'true', 'event', 'never']);
    await ok(home, ['queue', 'bulk', '--count', '3000']);
    const q = await json<any[]>(home, ['status']);
    expect(q).toHaveLength(3000);
    expect((await json(home, ['stats'])).queued).toBe(3000);
  });

  it('plain columns without colour when not a terminal; JSON on every read verb', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'cron', '@hourly']);
    const out = await ok(home, ['list']);
    expect(out).not.toMatch(/\x1b\[/);
    expect(out).not.toMatch(/[┌│]/);
    for (const verb of [['list'], ['get', 'a'], ['status'], ['history'], ['stats'], ['dlq', 'list'], ['events'], ['health']]) {
      const r = await cli(home, [...verb, '--json']);
      expect(() => JSON.parse(r.stdout), verb.join(' ')).not.toThrow();
    }
    expect((await json(home, ['get', 'a'])).description).toBe('Every hour');
  });
});
