import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fillDisk, fileStoreOnly, json, mountTmpfs, ok, tempHome } from '../helpers.js';

/** The sum over every task of conductor_executions_total for one status, from `stats --format prometheus`. */
function executions(text: string, status: string): number {
  const lines = text.split('\n').filter((l) => l.startsWith('conductor_executions_total{') && l.includes(`,status="${status}"}`));
  if (!lines.length) throw new Error(`no conductor_executions_total for ${status} in:\n${text}`);
  return lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

async function counters(home: string): Promise<{ success: number; failed: number; completed: number; jsonFailed: number }> {
  const prom = await ok(home, ['stats', '--format', 'prometheus']);
  const st = await json(home, ['stats']);
  return {
    success: executions(prom, 'success'),
    failed: executions(prom, 'failed'),
    completed: st.completed,
    jsonFailed: st.failed,
  };
}

describe('counters', () => {
  it('are exact when many runs finish at once, and agree with history', async () => {
    const home = tempHome();
    await ok(home, ['create', 'bad', 'Bad', 'sleep 0.1; exit 3', 'event', 'never', '--breaker-threshold', '1000']);
    await ok(home, ['create', 'good', 'Good', 'sleep 0.1', 'event', 'never']);
    await ok(home, ['queue', 'bad', '--count', '100']);
    await ok(home, ['queue', 'good', '--count', '100']);
    await ok(home, ['process', '--max-concurrent', '8']);
    const hist = await json<any[]>(home, ['history']);
    expect(hist).toHaveLength(200);
    const failedRuns = hist.filter((x) => x.status === 'failed').length;
    const successRuns = hist.filter((x) => x.status === 'success').length;
    expect([failedRuns, successRuns]).toEqual([100, 100]);
    const bad = await json(home, ['get', 'bad']);
    expect([bad.failure_count, bad.execution_count]).toEqual([100, 100]);
    const good = await json(home, ['get', 'good']);
    expect([good.failure_count, good.execution_count]).toEqual([0, 100]);
    expect(await counters(home)).toEqual({
      success: successRuns,
      failed: failedRuns,
      completed: successRuns,
      jsonFailed: failedRuns,
    });
  }, 120_000);

  it('never go down when a schedule is deleted (nor when its id is created again)', async () => {
    const home = tempHome();
    await ok(home, ['create', 'bad', 'Bad', 'exit 3', 'event', 'never']);
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    await ok(home, ['queue', 'bad', '--count', '2']);
    await ok(home, ['queue', 'good', '--count', '3']);
    await ok(home, ['process']);
    const before = await counters(home);
    expect(before).toEqual({ success: 3, failed: 2, completed: 3, jsonFailed: 2 });
    await ok(home, ['delete', 'bad']);
    await ok(home, ['delete', 'good']);
    expect(await counters(home)).toEqual(before);
    // The same id again is a new schedule: its runs add to what the old one counted.
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    await ok(home, ['queue', 'good']);
    await ok(home, ['process']);
    expect(await counters(home)).toEqual({ ...before, success: 4, completed: 4 });
    expect((await json(home, ['get', 'good'])).execution_count).toBe(1);
    await ok(home, ['delete', 'good']);
    expect(await counters(home)).toEqual({ ...before, success: 4, completed: 4 });
  }, 60_000);

  it('never go down when a schedule is deleted and created again within one second', async () => {
    const home = tempHome();
    const at = (ms: string) => ({ CONDUCTOR_NOW: `2026-11-27T12:00:00.${ms}Z` });
    await ok(home, ['create', 's', 'S', 'true', 'event', 'never'], at('100'));
    await ok(home, ['queue', 's', '--count', '3'], at('100'));
    await ok(home, ['process'], at('100'));
    await ok(home, ['delete', 's'], at('100'));
    await ok(home, ['create', 's', 'S', 'true', 'event', 'never'], at('900'));
    expect((await counters(home)).success).toBe(3);
    await ok(home, ['queue', 's'], at('900'));
    await ok(home, ['process'], at('900'));
    await ok(home, ['delete', 's'], at('900'));
    expect((await counters(home)).success).toBe(4);
  }, 60_000);

  it.runIf(fileStoreOnly)('are counted once when a delete was cut short after keeping them', async () => {
    const home = tempHome();
    await ok(home, ['create', 'good', 'Good', 'true', 'event', 'never']);
    await ok(home, ['queue', 'good', '--count', '2']);
    await ok(home, ['process']);
    const file = path.join(home, 'schedules', 'good.json');
    const text = fs.readFileSync(file);
    await ok(home, ['delete', 'good']);
    // A crash between keeping the counters and removing the file leaves both.
    fs.writeFileSync(file, text, { mode: 0o600 });
    expect(await counters(home)).toMatchObject({ success: 2, completed: 2 });
    await ok(home, ['delete', 'good']);
    expect(await counters(home)).toMatchObject({ success: 2, completed: 2 });
  });
});

const historyDir = (home: string) => path.join(home, 'history');
const archiveOf = (home: string) => {
  const a = fs.readdirSync(historyDir(home)).filter((n) => n.startsWith('archive-'));
  expect(a).toHaveLength(1);
  return path.join(historyDir(home), a[0]);
};
const journalsOf = (home: string) =>
  fs.readdirSync(historyDir(home)).filter((n) => n.endsWith('.jsonl') && !n.startsWith('archive-'));

describe.runIf(fileStoreOnly)('history on files', () => {
  it('a disk that fills while journals are folded into the archive loses no record', async (t) => {
    const base = tempHome();
    const mnt = path.join(path.dirname(base), 'mnt');
    if (!mountTmpfs(mnt, '256k')) {
      t.skip();
      return;
    }
    try {
      const home = path.join(mnt, 'home');
      await ok(home, ['create', 'w', 'W', 'true', 'event', 'never']);
      await ok(home, ['queue', 'w']);
      await ok(home, ['process']);
      await ok(home, ['queue', 'w', '--count', '30']);
      await ok(home, ['process']); // folds the first pass's journal; leaves its own
      expect(journalsOf(home)).toHaveLength(1);
      const before = (await json<any[]>(home, ['history'])).map((x) => x.execution_id).sort();
      expect(before).toHaveLength(31);
      // Fill the disk, then free one page: the fold's append (about 13 KB) cannot fit.
      const filler = fillDisk(mnt);
      fs.truncateSync(filler, fs.statSync(filler).size - 4096);
      const p = await cli(home, ['process']);
      expect(p.code).toBe(1);
      expect(p.stderr.trim().split('\n')).toHaveLength(1);
      expect(p.stderr).toMatch(/^conductor: .*history.*no space left on device/);
      expect((await json<any[]>(home, ['history'])).map((x) => x.execution_id).sort()).toEqual(before);
      const h = await cli(home, ['health', '--json']);
      expect(h.code).toBe(1);
      const bad = JSON.parse(h.stdout)
        .findings.filter((f: any) => !f.ok)
        .map((f: any) => f.check);
      expect(bad).toContain('history');
      fs.rmSync(filler);
      await ok(home, ['process']);
      expect(journalsOf(home)).toEqual([]);
      expect((await json<any[]>(home, ['history'])).map((x) => x.execution_id).sort()).toEqual(before);
      expect(JSON.parse((await cli(home, ['health', '--json'])).stdout).findings.filter((f: any) => !f.ok)).toEqual([]);
    } finally {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    }
  }, 60_000);

  it('a torn last line of the archive never swallows the next record; it is set aside and reported', async () => {
    const home = tempHome();
    await ok(home, ['create', 'w', 'W', 'true', 'event', 'never']);
    await ok(home, ['queue', 'w']);
    await ok(home, ['process']);
    await ok(home, ['queue', 'w']);
    await ok(home, ['process']);
    const archive = archiveOf(home);
    fs.appendFileSync(archive, '{"format":1,"execution_id":"torn');
    const h = await cli(home, ['history', '--json']);
    expect(h.code).toBe(0);
    expect(JSON.parse(h.stdout)).toHaveLength(2);
    expect(h.stderr).toMatch(/warning: history\/archive-.*torn/);
    const p = await cli(home, ['process']); // folds the second pass's journal
    expect(p.code).toBe(0);
    expect(p.stderr).toMatch(/warning: history\/archive-.*torn.*moved to quarantine\//);
    expect(fs.readFileSync(archive, 'utf8').endsWith('}\n')).toBe(true);
    const after = await cli(home, ['history', '--json']);
    expect(JSON.parse(after.stdout)).toHaveLength(2);
    expect(after.stderr).toBe('');
    const findings = JSON.parse((await cli(home, ['health', '--json'])).stdout).findings;
    expect(findings.find((f: any) => f.check === 'quarantine').ok).toBe(false);
    const set = fs.readdirSync(path.join(home, 'quarantine'));
    const fragment = set.find((n) => !n.endsWith('.why'))!;
    expect(fs.readFileSync(path.join(home, 'quarantine', fragment), 'utf8')).toBe('{"format":1,"execution_id":"torn');
    expect(set).toContain(`${fragment}.why`);
  });

  it('history hides only byte-identical copies of a record, never a second different record of one execution', async () => {
    const home = tempHome();
    await ok(home, ['create', 'w', 'W', 'true', 'event', 'never']);
    await ok(home, ['queue', 'w']);
    await ok(home, ['process']);
    const [journal] = journalsOf(home);
    const line = fs.readFileSync(path.join(historyDir(home), journal), 'utf8');
    const rec = JSON.parse(line);
    // A fold cut short leaves the same line in the archive: one record.
    fs.writeFileSync(path.join(historyDir(home), 'archive-2000-01.jsonl'), line, { mode: 0o600 });
    expect(await json<any[]>(home, ['history'])).toHaveLength(1);
    // A second run under the same execution id (a double run) is a different record: both show.
    const twin = { ...rec, exit_code: 1, status: 'failed', finished_at: new Date(Date.parse(rec.finished_at) + 5).toISOString() };
    fs.appendFileSync(path.join(historyDir(home), 'archive-2000-01.jsonl'), JSON.stringify(twin) + '\n');
    const r = await cli(home, ['history', '--json']);
    const hist = JSON.parse(r.stdout);
    expect(hist.map((x: any) => x.execution_id)).toEqual([rec.execution_id, rec.execution_id]);
    expect(hist.map((x: any) => x.status).sort()).toEqual(['failed', 'success']);
    expect(r.stderr).toMatch(new RegExp(`warning: .*${rec.execution_id.replace(/\./g, '\\.')}.*2 different records`));
  });

  it('the temp-file sweep ages files by the real clock, not the injected one', async () => {
    const home = tempHome();
    await ok(home, ['create', 'w', 'W', 'true', 'event', 'never']);
    const fresh = path.join(home, 'queue', '.tmp-1-fresh');
    const old = path.join(home, 'queue', '.tmp-1-old');
    fs.writeFileSync(fresh, 'x');
    fs.writeFileSync(old, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    fs.utimesSync(old, twoHoursAgo, twoHoursAgo);
    await ok(home, ['process'], { CONDUCTOR_NOW: '2030-01-01T00:00:00Z' });
    expect(fs.existsSync(fresh)).toBe(true); // a writer may be between its write and its link
    expect(fs.existsSync(old)).toBe(false);
  });
});

describe.runIf(fileStoreOnly)('history read while journals are folded', () => {
  it('shows every record, every time, while another pass folds 100 journals (8 rounds, 2 readers)', async () => {
    const home = tempHome();
    await ok(home, ['create', 'e', 'E', 'true', 'event', 'never']);
    await ok(home, ['queue', 'e', '--count', '200']);
    await ok(home, ['process', '--max-concurrent', '8']);
    await ok(home, ['process']); // folds the first pass's journal
    const archive = archiveOf(home);
    const lines = fs.readFileSync(archive, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(200);
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const counts: number[] = [];
    for (let round = 0; round < 8; round++) {
      // As 100 passes that have finished leave them: journals of dead owners, waiting to be folded.
      fs.rmSync(archiveOf(home));
      for (let i = 0; i < 100; i++) {
        const part = lines.slice(i * 2, i * 2 + 2).join('\n') + '\n';
        fs.writeFileSync(path.join(historyDir(home), `${boot}.${4_000_000 + i}.1.jsonl`), part, { mode: 0o600 });
      }
      const fold = cli(home, ['process']);
      let folding = true;
      void fold.then(() => (folding = false));
      const reader = async () => {
        while (folding) counts.push((await json<any[]>(home, ['history', 'e'])).length);
      };
      await Promise.all([reader(), reader()]);
      expect((await fold).code).toBe(0);
      expect(journalsOf(home)).toEqual([]);
    }
    expect(counts.length).toBeGreaterThan(8);
    expect(counts.filter((n) => n !== 200)).toEqual([]);
  }, 120_000);
});
