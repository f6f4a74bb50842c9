import * as os from 'node:os';
import type pidusageType from 'pidusage';
import { pidsByGroup } from './proc.js';

export interface Peaks {
  cpu: number | null;
  memMb: number | null;
}

/**
 * One timer samples every running handler's whole process tree (its process
 * group) with pidusage; each task keeps its peak CPU (share of the machine)
 * and peak memory (MB of resident memory, summed over the tree).
 */
export function createSampler(intervalMs = 500) {
  // Loaded when the first handler is tracked, not at start-up.
  let lib: typeof pidusageType | null = null;
  const pidusage = (): typeof pidusageType => (lib ??= require('pidusage') as typeof pidusageType);
  const peaks = new Map<number, Peaks>();
  const cores = os.cpus().length || 1;
  let timer: NodeJS.Timeout | null = null;
  let busy = false;

  async function tick() {
    if (busy || peaks.size === 0) return;
    busy = true;
    try {
      const groups = pidsByGroup(new Set(peaks.keys()));
      const all = [...groups.values()].flat();
      if (all.length === 0) return;
      const stats = await pidusage()(all).catch(() => ({}) as Record<string, pidusageType.Status>);
      for (const [pgid, pids] of groups) {
        const p = peaks.get(pgid);
        if (!p) continue;
        let cpu = 0;
        let mem = 0;
        for (const pid of pids) {
          const s = (stats as Record<string, pidusageType.Status | undefined>)[pid];
          if (!s) continue;
          cpu += s.cpu;
          mem += s.memory;
        }
        cpu /= cores;
        const mb = mem / 1048576;
        p.cpu = Math.max(p.cpu ?? 0, Math.round(cpu * 10) / 10);
        p.memMb = Math.max(p.memMb ?? 0, Math.round(mb * 10) / 10);
      }
    } finally {
      busy = false;
    }
  }

  return {
    track(pgid: number): Peaks {
      const p: Peaks = { cpu: null, memMb: null };
      peaks.set(pgid, p);
      if (!timer) {
        timer = setInterval(() => void tick(), intervalMs);
        timer.unref();
      }
      return p;
    },
    untrack(pgid: number): void {
      peaks.delete(pgid);
      if (peaks.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
        lib?.clear();
      }
    },
  };
}

export type Sampler = ReturnType<typeof createSampler>;
