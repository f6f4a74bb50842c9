import * as fs from 'node:fs';

/**
 * Pids whose environment holds NAME=VALUE. Crash recovery uses it to find a
 * handler whose dispatcher died before anything about it was written down:
 * every handler carries its CONDUCTOR_EXECUTION_ID.
 */
export function pidsWithEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  const first = Buffer.from(`${name}=${value}\0`);
  const out: number[] = [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${n}/environ`);
    } catch {
      continue;
    }
    if (env.includes(needle) || env.subarray(0, first.length).equals(first)) out.push(Number(n));
  }
  return out;
}
