// Daemon: due time to handler start (p50/p99, target p99 <= 1 s) for interval
// schedules, then idle CPU (target < 0.5 %) and RSS (target < 80 MB).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BIN, conductor, fmt, header, idleReadings, percentile, tempDir } from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TICK_MS = 1000 / 100; // USER_HZ

function cpuMs(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

export async function benchDaemon(seconds = 20, schedules = 10) {
  header('Daemon');
  const dir = tempDir('daemon');
  const home = `${dir}/home`;
  const env = { ...process.env, NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(dir) };

  // Idle first: no schedules, nothing queued.
  const idle = spawn(BIN, ['--home', home, 'process', '--daemon'], { env, stdio: 'ignore' });
  await sleep(2000);
  const c0 = cpuMs(idle.pid);
  const w0 = performance.now();
  await sleep(10_000);
  const idleCpu = (100 * (cpuMs(idle.pid) - c0)) / (performance.now() - w0);
  const idleRss = rssMb(idle.pid);
  idle.kill('SIGTERM');
  await new Promise((r) => idle.on('exit', r));

  for (let i = 0; i < schedules; i++) conductor(home, ['create', `tick${i}`, `Tick ${i}`, 'true', 'interval', '1s']);
  const d = spawn(BIN, ['--home', home, 'process', '--daemon', '--max-cpu', '100'], { env, stdio: 'ignore' });
  await sleep(seconds * 1000);
  d.kill('SIGTERM');
  await new Promise((r) => d.on('exit', r));
  const hist = JSON.parse(conductor(home, ['history', '--limit', '100000', '--json']).stdout);
  const lat = [];
  for (const x of hist) {
    if (x.scheduled_for) lat.push(Date.parse(x.started_at) - Date.parse(x.scheduled_for));
  }
  const p50 = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  console.log(`due -> start over ${lat.length} runs   p50 ${fmt(p50)}, p99 ${fmt(p99)}, max ${fmt(Math.max(...lat))}`);
  console.log(
    `idle daemon                 CPU ${idleCpu.toFixed(2)} % of one core (${os.cpus().length} cores), RSS ${idleRss.toFixed(0)} MB`,
  );
  return {
    runs: lat.length,
    due_to_start_p50_ms: p50,
    due_to_start_p99_ms: p99,
    idle_cpu_percent: idleCpu,
    idle_rss_mb: idleRss,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDaemon();
