// Dispatch: drain 2,000 queued `true` handlers at --max-concurrent 8, against
// `xargs -P 8 -n 1 sh -c true` and a bare child_process.spawn loop (same
// concurrency, same shell) measured in the same run. Target: <= 2x xargs.
import { spawn } from 'node:child_process';
import { conductor, fmt, header, idleReadings, ratio, tempDir, timed } from './lib.mjs';

function bareSpawnLoop(n, p) {
  return new Promise((resolve) => {
    let started = 0;
    let done = 0;
    const t0 = performance.now();
    const next = () => {
      if (started >= n) return;
      started++;
      const c = spawn('/bin/sh', ['-c', 'true'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      c.stdout.resume();
      c.stderr.resume();
      c.on('close', () => {
        if (++done === n) resolve(performance.now() - t0);
        else next();
      });
    };
    for (let i = 0; i < p; i++) next();
  });
}

export async function benchDispatch(n = 2000, p = 8) {
  header(`Dispatch: ${n} x true at concurrency ${p}`);
  const dir = tempDir('dispatch');
  const home = `${dir}/home`;
  conductor(home, ['create', 'noop', 'Noop', 'true', 'event', 'never']);
  conductor(home, ['queue', 'noop', '--count', String(n)]);
  // One argument per run, as conductor gets one entry per run.
  const xargs = timed('sh', ['-c', `seq ${n} | xargs -P ${p} -n 1 sh -c true`]).ms;
  const bare = await bareSpawnLoop(n, p);
  // --max-cpu 100: the handlers are the load here; the bench measures conductor's own cost.
  const ours = conductor(home, ['process', '--max-concurrent', String(p), '--max-cpu', '100', '--json'], {
    CONDUCTOR_RESOURCES_FILE: idleReadings(dir),
  });
  const summary = JSON.parse(ours.stdout);
  if (summary.succeeded !== n) throw new Error(`expected ${n} successes, got ${summary.succeeded}`);
  console.log(`xargs -P ${p} (baseline)      ${fmt(xargs)}`);
  console.log(`bare spawn loop in node      ${fmt(bare)}   ${ratio(bare, xargs)}`);
  console.log(
    `conductor process            ${fmt(ours.ms)}   ${ratio(ours.ms, xargs)} of xargs, ${ratio(ours.ms, bare)} of bare spawn`,
  );
  return {
    xargs_ms: xargs,
    bare_spawn_ms: bare,
    conductor_ms: ours.ms,
    ratio_xargs: ours.ms / xargs,
    ratio_bare: ours.ms / bare,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDispatch();
