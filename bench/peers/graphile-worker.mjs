// graphile-worker's side of bench/peers.mjs, against a database of its own:
//   node graphile-worker.mjs PEERS_DIR URL setup       install the graphile_worker schema (migrate)
//   node graphile-worker.mjs PEERS_DIR URL enqueue N   addJobs() of N `noop` jobs in one call; prints {"ms"}: the call alone
//   node graphile-worker.mjs PEERS_DIR URL work C      run() with concurrency C and the task noop (spawn /bin/sh -c true);
//                                                      stops once graphile_worker.jobs is empty (a completed job is deleted)
//                                                      or a job failed; prints {"succeeded","failed"} (this process's)
import { EventEmitter } from 'node:events';
import { fromPeers, sh, untilZero } from './common.mjs';

const [dir, url, mode, arg] = process.argv.slice(2);
const { Logger, makeWorkerUtils, run } = fromPeers(dir)('graphile-worker');
// Errors only: the default logger prints a line per completed job.
const logger = new Logger(() => (level, message) => level === 'error' && console.error(message));

const utils = await makeWorkerUtils({ connectionString: url, logger });
if (mode === 'setup') {
  await utils.migrate();
} else if (mode === 'enqueue') {
  const specs = Array.from({ length: Number(arg) }, () => ({ identifier: 'noop', payload: {} }));
  const t0 = performance.now();
  await utils.addJobs(specs);
  console.log(JSON.stringify({ ms: performance.now() - t0 }));
} else if (mode === 'work') {
  const events = new EventEmitter();
  let succeeded = 0;
  let failed = 0;
  events.on('job:success', () => succeeded++);
  events.on('job:error', () => failed++); // an attempt that threw: it would be retried later, the queue would never empty
  const runner = await run({
    connectionString: url,
    concurrency: Number(arg),
    noHandleSignals: true,
    logger,
    events,
    taskList: { noop: sh },
  });
  const count = () =>
    utils.withPgClient(async (c) => (await c.query('select count(*)::int as n from graphile_worker.jobs')).rows[0].n);
  await untilZero(count, () => failed > 0);
  await runner.stop();
  console.log(JSON.stringify({ succeeded, failed }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
await utils.release();
