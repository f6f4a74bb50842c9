// Shared helpers for the benchmarks: temporary homes, timing, peak RSS of a child.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'bin', 'conductor');

const made = [];
export function tempDir(name) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `conductor-bench-${name}-`));
  made.push(d);
  return d;
}
export function cleanup() {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Runs a command to completion; returns wall milliseconds. Throws on a non-zero exit. */
export function timed(cmd, args, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...opts });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: String(r.stdout) };
}

export function conductor(home, args, env = {}) {
  return timed(BIN, ['--home', home, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
}

/** Runs a command while polling its peak RSS (VmHWM) from /proc. */
export function withPeakRss(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let peakKb = 0;
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${err}`));
      else resolve({ ms: performance.now() - t0, peakMb: peakKb / 1024 });
    });
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
export const ratio = (a, b) => `${(a / b).toFixed(2)}x`;

/** The machine is shared: the load at the time says how far to trust a run's timings. */
export function loadAverage() {
  const [one, five, fifteen] = os.loadavg().map((x) => x.toFixed(2));
  return `load average ${one}, ${five}, ${fifteen} (1, 5, 15 min) on ${os.cpus().length} cores`;
}

export function header(title) {
  console.log(`\n## ${title}`);
}

/** A readings file that makes admission see an idle machine (the benches measure conductor, not the box). */
export function idleReadings(dir) {
  const f = path.join(dir, 'idle.json');
  fs.writeFileSync(f, JSON.stringify({ cpu: 0, mem: 0 }));
  return f;
}
