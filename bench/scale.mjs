// Scale: 100,000 queued entries. status --json and stats --json (target < 1 s),
// enqueue time at 100k against enqueue time at 0 (target <= 1.2x), and the
// peak RSS of a `process` pass over them (target < 150 MB).
import { BIN, conductor, fmt, header, ratio, tempDir, withPeakRss } from './lib.mjs';
import * as fs from 'node:fs';

export async function benchScale(n = 100_000, probe = 1000) {
  header(`Scale: ${n.toLocaleString('en')} queued entries`);
  const dir = tempDir('scale');
  const home = `${dir}/home`;
  conductor(home, ['create', 'bulk', 'Bulk', 'true', 'event', 'never']);
  const at0 = conductor(home, ['queue', 'bulk', '--count', String(probe)]).ms;
  const fill = conductor(home, ['queue', 'bulk', '--count', String(n - probe)]).ms;
  const atN = conductor(home, ['queue', 'bulk', '--count', String(probe)]).ms;
  const status = conductor(home, ['status', '--json']);
  const stats = conductor(home, ['stats', '--json']);
  const count = JSON.parse(status.stdout).length;
  // A pass in which the machine reads as fully loaded: it lists, ranks and
  // admits all entries but starts none, so the figure is the cost of the queue itself.
  const busy = `${dir}/busy.json`;
  fs.writeFileSync(busy, JSON.stringify({ cpu: 100, mem: 0 }));
  const pass = await withPeakRss(BIN, ['--home', home, 'process', '--json'], {
    env: { ...process.env, CONDUCTOR_RESOURCES_FILE: busy, CONDUCTOR_PATIENCE_MS: '1' },
  });
  console.log(`filled ${count.toLocaleString('en')} entries in ${fmt(fill)}`);
  console.log(`enqueue ${probe} at 0            ${fmt(at0)}`);
  console.log(`enqueue ${probe} at ${n / 1000}k          ${fmt(atN)}   ${ratio(atN, at0)}`);
  console.log(`status --json                ${fmt(status.ms)}`);
  console.log(`stats --json                 ${fmt(stats.ms)}`);
  console.log(`process pass                 ${fmt(pass.ms)}, peak RSS ${pass.peakMb.toFixed(0)} MB`);
  return {
    entries: count,
    enqueue_at0_ms: at0,
    enqueue_atN_ms: atN,
    enqueue_ratio: atN / at0,
    status_ms: status.ms,
    stats_ms: stats.ms,
    process_peak_rss_mb: pass.peakMb,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchScale(Number(process.argv[2]) || 100_000);
