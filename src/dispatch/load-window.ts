// What admission adds to the machine's readings: the estimates of runs started so recently that
// their load does not show yet, and the readings themselves, cached briefly.
import type { Readings } from '../queue/admission.js';
import type { ResourceProbe } from '../run/resources.js';

/** How long a start's estimate counts as pending: about how long its load takes to show in /proc. */
export const PENDING_LOAD_MS = 2000;
/** Readings change slowly; reading /proc once per start would be thousands of opens a second. */
export const PROBE_MS = 100;

type Load = { cpu: number; mem: number };

/**
 * Estimates of what started in the last PENDING_LOAD_MS, with their running sum: a burst of
 * short tasks puts thousands here, and summing them every round showed in profiles.
 */
export interface LoadWindow {
  starts: { at: number; cpu: number; mem: number }[];
  head: number;
  sum: Load;
}

export function createLoadWindow(): LoadWindow {
  return { starts: [], head: 0, sum: { cpu: 0, mem: 0 } };
}

/** Drops starts older than the window; returns what is still pending (never below zero). */
export function pendingLoad(w: LoadWindow, now: number): Load {
  while (w.head < w.starts.length && now - w.starts[w.head].at > PENDING_LOAD_MS) {
    w.sum.cpu -= w.starts[w.head].cpu;
    w.sum.mem -= w.starts[w.head].mem;
    w.head++;
  }
  // Compact now and then, not on every expiry: a splice per start would be quadratic in a burst.
  if (w.head > 1024 && w.head * 2 > w.starts.length) {
    w.starts.splice(0, w.head);
    w.head = 0;
  }
  return { cpu: Math.max(0, w.sum.cpu), mem: Math.max(0, w.sum.mem) };
}

export function addStart(w: LoadWindow, now: number, est: Load): void {
  w.starts.push({ at: now, ...est });
  w.sum.cpu += est.cpu;
  w.sum.mem += est.mem;
}

/** The probe read at most every PROBE_MS (again at once if the clock went back). */
export function cachedProbe(probe: ResourceProbe): (now: number) => Readings {
  let probed: { at: number; value: Readings } | null = null;
  return (now) => {
    if (!probed || now - probed.at >= PROBE_MS || now < probed.at) probed = { at: now, value: probe.read() };
    return probed.value;
  };
}
