import * as fs from 'node:fs';
import * as os from 'node:os';

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parens). */
function statFields(pid: number): string[] | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Start time in clock ticks since boot: with the pid, it names one process for good. */
export function startTicks(pid: number): number | null {
  const f = statFields(pid);
  return f ? Number(f[19]) : null;
}

/** A process that runs (not a zombie waiting to be reaped), whatever it is. */
export function pidRunning(pid: number): boolean {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z' && f[0] !== 'X';
}

/** Running (not a zombie waiting to be reaped) and the same process: pid and start time match. */
export function processLive(pid: number, ticks: number): boolean {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z' && f[0] !== 'X' && Number(f[19]) === ticks;
}

let boot: string | null = null;
function bootId(): string {
  if (boot === null) {
    try {
      boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, 8);
    } catch {
      boot = 'noboot';
    }
  }
  return boot;
}

/**
 * Makes this process pass for one on another machine (see test-hooks.ts): set
 * before any identity is taken, it stands in for the boot id in owner tokens.
 */
export function standInForHost(id: string): void {
  boot = id;
}

/** This machine's boot id as conductor names it (a stand-in under the test hook). */
export function localBoot(): string {
  return bootId();
}

/** Was the owner token issued on this machine since its last boot (so /proc can tell if it lives)? */
export function tokenIsLocal(token: string): boolean {
  return token.split('.')[0] === bootId();
}

export interface Identity {
  host: string;
  pid: number;
  start_ticks: number | null;
  /** Goes into file names: boot, pid and start time, so a reused pid cannot pass for us. */
  token: string;
}

let self: Identity | null = null;

export function selfIdentity(): Identity {
  if (!self) {
    const ticks = startTicks(process.pid);
    self = { host: os.hostname(), pid: process.pid, start_ticks: ticks, token: `${bootId()}.${process.pid}.${ticks ?? 0}` };
  }
  return self;
}

/** Is the process named by an owner token still running on this machine? */
export function tokenAlive(token: string): boolean {
  const [, pidText, ticksText] = token.split('.');
  if (!tokenIsLocal(token)) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const ticks = startTicks(pid);
  return ticks !== null && String(ticks) === ticksText;
}

/** Signals a whole process group; false if it is already gone. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every pid in /proc, this process's own left out. */
export function allPids(): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57 && Number(n) !== process.pid) out.push(Number(n));
  }
  return out;
}

/** One process of a group as /proc/<pid>/stat shows it. */
export interface ProcUsage {
  pid: number;
  /** User + system CPU time, in clock ticks. */
  cpuTicks: number;
  /** Start time, in clock ticks since boot. */
  startTicks: number;
  rssPages: number;
}

/**
 * The processes of some process groups, read from /proc in one sweep, one
 * file open at a time: sampling must not cost descriptors per handler.
 */
export function usageByGroup(groups: Set<number>): Map<number, ProcUsage[]> {
  const out = new Map<number, ProcUsage[]>();
  for (const pid of allPids()) {
    const f = statFields(pid);
    if (!f) continue;
    const pgrp = Number(f[2]);
    if (!groups.has(pgrp)) continue;
    const u = { pid, cpuTicks: Number(f[11]) + Number(f[12]), startTicks: Number(f[19]), rssPages: Number(f[21]) };
    const list = out.get(pgrp);
    if (list) list.push(u);
    else out.set(pgrp, [u]);
  }
  return out;
}
