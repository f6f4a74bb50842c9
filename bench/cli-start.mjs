// CLI start: `conductor queue` and `conductor trigger` wall time against `node -e 0`,
// interleaved so that machine noise hits all three alike. Target: <= 1.3x.
import { conductor, header, median, ratio, tempDir, timed, fmt } from './lib.mjs';

export function benchCliStart(runs = 30) {
  header('CLI start');
  const home = `${tempDir('cli')}/home`;
  conductor(home, ['create', 'job', 'Job', 'true', 'event', 'bench.event']);
  const base = [];
  const queue = [];
  const trig = [];
  for (let i = 0; i < runs; i++) {
    base.push(timed('node', ['-e', '0']).ms);
    queue.push(conductor(home, ['queue', 'job']).ms);
    trig.push(conductor(home, ['trigger', 'bench.event']).ms);
  }
  const b = median(base);
  const q = median(queue);
  const t = median(trig);
  console.log(`node -e 0 (baseline)   ${fmt(b)}`);
  console.log(`conductor queue        ${fmt(q)}   ${ratio(q, b)}`);
  console.log(`conductor trigger      ${fmt(t)}   ${ratio(t, b)}`);
  return { baseline_ms: b, queue_ms: q, trigger_ms: t, queue_ratio: q / b, trigger_ratio: t / b };
}

if (import.meta.url === `file://${process.argv[1]}`) benchCliStart();
