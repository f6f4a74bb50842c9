import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { usageByGroup } from './proc.js';

export interface Peaks {
  cpu: number | null;
  memMb: number | null;
}

/** USER_HZ: the unit of /proc's CPU times, 100 on every Linux user-space ABI. */
const CLK_TCK = 100;

let pageBytes: number | null = null;
function pageSize(): number {
  if (pageBytes === null) {
    const n = Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout);
    pageBytes = Number.isInteger(n) && n > 0 ? n : 4096;
  }
  return pageBytes;
}

function uptimeTicks(): number {
  try {
    return Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * One timer samples every running handler's whole process tree (its process
 * group) from /proc; each task keeps its peak CPU (share of the machine) and
 * peak memory (MB of resident memory, summed over the tree). CPU is the time a
 * process used since the last sample (or since it started) over the time that
 * passed. Read here rather than with pidusage, which keeps a descriptor open
 * per process it has seen for a minute: under a low descriptor limit that
 * alone can starve the journal.
 */
export function createSampler(intervalMs = 500) {
  const peaks = new Map<number, Peaks>();
  const cores = os.cpus().length || 1;
  let last = new Map<number, { cpuTicks: number; at: number }>();
  let timer: NodeJS.Timeout | null = null;

  function tick() {
    if (peaks.size === 0) return;
    const now = uptimeTicks();
    const seen = new Map<number, { cpuTicks: number; at: number }>();
    for (const [pgid, procs] of usageByGroup(new Set(peaks.keys()))) {
      const p = peaks.get(pgid);
      if (!p) continue;
      let cpu = 0;
      let mem = 0;
      for (const u of procs) {
        const before = last.get(u.pid) ?? { cpuTicks: 0, at: u.startTicks };
        const elapsed = now - before.at;
        if (elapsed > 0) cpu += ((u.cpuTicks - before.cpuTicks) / elapsed) * 100;
        mem += u.rssPages * pageSize();
        seen.set(u.pid, { cpuTicks: u.cpuTicks, at: now });
      }
      cpu /= cores;
      p.cpu = Math.max(p.cpu ?? 0, Math.round(cpu * 10) / 10);
      p.memMb = Math.max(p.memMb ?? 0, Math.round((mem / 1048576) * 10) / 10);
    }
    last = seen;
  }

  return {
    track(pgid: number): Peaks {
      const p: Peaks = { cpu: null, memMb: null };
      peaks.set(pgid, p);
      if (!timer) {
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
      return p;
    },
    untrack(pgid: number): void {
      peaks.delete(pgid);
      if (peaks.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
        last = new Map();
      }
    },
  };
}

export type Sampler = ReturnType<typeof createSampler>;
