// pg-boss's side of bench/peers.mjs, against a database of its own:
//   node pg-boss.mjs PEERS_DIR URL setup         install the pgboss schema (start) and create the queue noop
//   node pg-boss.mjs PEERS_DIR URL enqueue N     insert() of N `noop` jobs in one call; prints {"ms"}: the call alone
//   node pg-boss.mjs PEERS_DIR URL work W B      W workers (pg-boss 10 has no concurrency option: one work() call is one
//                                                loop), each fetching up to B jobs per claim and running them at once
//                                                (spawn /bin/sh -c true), polling every 0.5 s (the minimum pg-boss allows);
//                                                stops once no noop job is created, retry or active, or a job failed;
//                                                prints {"succeeded","failed"} (this process's)
import { fromPeers, sh, untilZero } from './common.mjs';

const [dir, url, mode, arg, batch] = process.argv.slice(2);
const PgBoss = fromPeers(dir)('pg-boss');
// No cron (schedule) nor maintenance (supervise): the workers' claims are what is measured.
const boss = new PgBoss({ connectionString: url, schedule: false, supervise: false, migrate: mode === 'setup' });
boss.on('error', (e) => console.error(e));
await boss.start();
if (mode === 'setup') {
  await boss.createQueue('noop');
} else if (mode === 'enqueue') {
  const jobs = Array.from({ length: Number(arg) }, () => ({ name: 'noop' }));
  const t0 = performance.now();
  await boss.insert(jobs);
  console.log(JSON.stringify({ ms: performance.now() - t0 }));
} else if (mode === 'work') {
  let succeeded = 0;
  let failed = 0;
  const handler = async (jobs) => {
    try {
      await Promise.all(jobs.map(sh));
      succeeded += jobs.length;
    } catch (e) {
      failed += jobs.length;
      throw e;
    }
  };
  for (let i = 0; i < Number(arg); i++)
    await boss.work('noop', { batchSize: Number(batch), pollingIntervalSeconds: 0.5 }, handler);
  await untilZero(
    () => boss.getQueueSize('noop', { before: 'completed' }),
    () => failed > 0,
  );
  await boss.stop({ graceful: true, wait: true });
  console.log(JSON.stringify({ succeeded, failed }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
if (mode !== 'work') await boss.stop({ graceful: false });
