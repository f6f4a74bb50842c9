import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Readings } from '../queue/admission.js';

/** A source of live machine readings; tests inject a file instead of /proc. */
export interface ResourceProbe {
  read(): Readings;
}

interface CpuSample {
  busy: number;
  total: number;
  own: number;
  at: number;
}

function cpuSample(): CpuSample | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] || 0);
    const total = v.reduce((a, b) => a + b, 0);
    const u = process.cpuUsage();
    return { busy: total - idle, total, own: (u.user + u.system) / 1000, at: Date.now() };
  } catch {
    return null;
  }
}

function memUsedPercent(): number {
  try {
    const text = fs.readFileSync('/proc/meminfo', 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    const total = get('MemTotal');
    const avail = get('MemAvailable');
    if (total > 0 && avail >= 0) return 100 * (1 - avail / total);
  } catch {
    /* not Linux: fall back below */
  }
  return 100 * (1 - os.freemem() / os.totalmem());
}

/**
 * CPU utilisation from /proc/stat deltas over a rolling window of at least
 * `windowMs`, minus conductor's own CPU time (its start-up would otherwise
 * count against the tasks it is about to start).
 */
export function procProbe(windowMs = 250): ResourceProbe & { warm(): Promise<void> } {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  let prev = cpuSample();
  let last = 0;
  const update = () => {
    const cur = cpuSample();
    if (!cur || !prev) return;
    if (cur.at - prev.at < windowMs) return;
    const total = cur.total - prev.total;
    const ownTicks = (cur.own - prev.own) * ticksPerMs;
    const busy = Math.max(0, cur.busy - prev.busy - ownTicks);
    last = total > 0 ? Math.min(100, (100 * busy) / total) : 0;
    prev = cur;
  };
  return {
    read() {
      update();
      return { cpu: last, mem: memUsedPercent() };
    },
    async warm() {
      const wait = prev ? windowMs - (Date.now() - prev.at) : 0;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      update();
    },
  };
}

/**
 * CONDUCTOR_RESOURCES_FILE names a JSON file {"cpu": N, "mem": N} read at
 * every check: the way tests make admission deterministic.
 */
export function fileProbe(file: string): ResourceProbe {
  return {
    read() {
      try {
        const v = JSON.parse(fs.readFileSync(file, 'utf8'));
        return { cpu: Number(v.cpu) || 0, mem: Number(v.mem) || 0 };
      } catch {
        return { cpu: 0, mem: 0 };
      }
    },
  };
}
