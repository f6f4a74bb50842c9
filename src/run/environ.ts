import * as fs from 'node:fs';
import { allPids, killGroup } from './proc.js';

/**
 * Pids whose environment holds NAME=VALUE. Crash recovery uses it to find a
 * handler whose dispatcher died before anything about it was written down:
 * every handler carries its CONDUCTOR_EXECUTION_ID.
 */
export function pidsWithEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  const first = Buffer.from(`${name}=${value}\0`);
  return allPids().filter((pid) => {
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${pid}/environ`);
    } catch {
      return false;
    }
    return env.includes(needle) || env.subarray(0, first.length).equals(first);
  });
}

/** Kills whatever is left of a run (its handler and the processes it started), found by its execution id; how many. */
export function killRunLeftovers(executionId: string): number {
  const pids = pidsWithEnv('CONDUCTOR_EXECUTION_ID', executionId);
  for (const pid of pids) killGroup(pid, 'SIGKILL');
  return pids.length;
}
