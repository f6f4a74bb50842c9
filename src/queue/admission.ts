/** Live machine readings, in percent of the whole machine. */
export interface Readings {
  cpu: number;
  mem: number;
}

export interface Limits {
  maxConcurrent: number;
  maxCpu: number;
  maxMem: number;
}

export type Admission = { ok: true } | { ok: false; reason: string; byLoad: boolean };

const fmt = (n: number) => `${Math.round(n * 10) / 10}%`;

/**
 * Whether an entry may start now: the readings plus what was just started
 * (its load not yet visible in the readings) plus the entry's own estimate
 * must stay within the limits.
 */
export function admit(
  est: { cpu: number; mem: number },
  readings: Readings,
  pending: { cpu: number; mem: number },
  running: number,
  limits: Limits,
): Admission {
  if (running >= limits.maxConcurrent) {
    return { ok: false, reason: `blocked: ${running} running = max-concurrent ${limits.maxConcurrent}`, byLoad: false };
  }
  const cpu = readings.cpu + pending.cpu;
  if (cpu + est.cpu > limits.maxCpu) {
    return { ok: false, reason: `blocked: cpu ${fmt(cpu)} + ${fmt(est.cpu)} > ${fmt(limits.maxCpu)}`, byLoad: true };
  }
  const mem = readings.mem + pending.mem;
  if (mem + est.mem > limits.maxMem) {
    return { ok: false, reason: `blocked: memory ${fmt(mem)} + ${fmt(est.mem)} > ${fmt(limits.maxMem)}`, byLoad: true };
  }
  return { ok: true };
}

/** An estimate that alone exceeds a limit can never start; refuse it at create/queue. */
export function impossibleEstimate(est: { cpu: number; mem: number }, limits: Pick<Limits, 'maxCpu' | 'maxMem'>): string | null {
  if (est.cpu > limits.maxCpu) return `cpu estimate ${fmt(est.cpu)} exceeds the limit ${fmt(limits.maxCpu)}`;
  if (est.mem > limits.maxMem) return `memory estimate ${fmt(est.mem)} exceeds the limit ${fmt(limits.maxMem)}`;
  return null;
}
