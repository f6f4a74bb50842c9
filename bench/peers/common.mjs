// Shared by the peers' helper scripts (bench/peers.mjs runs them with node): loading a
// package from the peers' temporary install, the job every system runs, and waiting for a count.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** `require` resolving from the peers' install folder (PEERS_DIR, see bench/peers.mjs). */
export const fromPeers = (dir) => createRequire(path.join(dir, 'package.json'));

/** The job: spawn `/bin/sh -c true` and wait for its exit, as conductor's handler `true` is run. */
export function sh() {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`/bin/sh -c true exited ${code}`))));
  });
}

/** Polls `count()` every `ms` until it answers 0 or `stop()` says to give up. */
export async function untilZero(count, stop, ms = 50) {
  while (!stop() && (await count()) > 0) await new Promise((r) => setTimeout(r, ms));
}
