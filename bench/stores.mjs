// Stores: the PostgreSQL store against the file store (the baseline), in the
// same run on the same machine: enqueue 2,000 entries, then drain them with
// one `process --max-concurrent 8` pass of `true` handlers, and the same
// drain split between 3 dispatchers (3 "hosts") on the one database.
// PostgreSQL runs a throw-away cluster with its durable defaults (fsync on),
// as the file store fsyncs its history.
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { BIN, ROOT, conductor, fmt, header, idleReadings, ratio, tempDir } from './lib.mjs';

const PORT = '25433'; // below Linux's ephemeral range (32768-60999), beside the tests' 25432

function startCluster() {
  try {
    return execFileSync('bash', [path.join(ROOT, 'scripts', 'pg-cluster.sh'), 'start'], {
      env: { ...process.env, CONDUCTOR_PG_PORT: PORT, CONDUCTOR_PG_DURABLE: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch {
    return null;
  }
}

function stopCluster() {
  execFileSync('bash', [path.join(ROOT, 'scripts', 'pg-cluster.sh'), 'stop'], {
    env: { ...process.env, CONDUCTOR_PG_PORT: PORT },
    stdio: 'ignore',
  });
}

function drainParallel(homes, env, p) {
  const t0 = performance.now();
  return Promise.all(
    homes.map(
      (home, i) =>
        new Promise((resolve, reject) => {
          // --wait: each stays until the queue is drained (a plain pass that finds the home full exits at once).
          const c = spawn(
            BIN,
            ['--home', home, 'process', '--wait', '--max-concurrent', String(p), '--max-cpu', '100', '--json'],
            {
              env: { ...process.env, NO_COLOR: '1', ...env, CONDUCTOR_TEST_HOST_ID: `bench${i}` },
              stdio: ['ignore', 'pipe', 'inherit'],
            },
          );
          let out = '';
          c.stdout.on('data', (d) => (out += d));
          c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out).succeeded) : reject(new Error(`process exited ${code}`))));
        }),
    ),
  ).then((counts) => ({ ms: performance.now() - t0, succeeded: counts.reduce((a, b) => a + b, 0) }));
}

async function measure(label, dir, store, n, p) {
  const env = {
    CONDUCTOR_RESOURCES_FILE: idleReadings(dir),
    ...(store ? { CONDUCTOR_STORE: store } : { CONDUCTOR_STORE: 'file' }),
  };
  const home = `${dir}/${label}`;
  conductor(home, ['create', 'noop', 'Noop', 'true', 'event', 'never'], env);
  const enqueue = conductor(home, ['queue', 'noop', '--count', String(n)], env).ms;
  const one = conductor(home, ['process', '--max-concurrent', String(p), '--max-cpu', '100', '--json'], env);
  if (JSON.parse(one.stdout).succeeded !== n) throw new Error(`${label}: not every entry succeeded`);
  let three = null;
  if (store) {
    // Three dispatchers, each with its own local home, share the queue; --max-concurrent is global.
    conductor(home, ['queue', 'noop', '--count', String(n)], env);
    const r = await drainParallel(
      [1, 2, 3].map((i) => `${dir}/${label}-host${i}`),
      env,
      p,
    );
    if (r.succeeded !== n) throw new Error(`${label}: 3 dispatchers ran ${r.succeeded} of ${n}`);
    three = r.ms;
  }
  return { enqueue, drain: one.ms, three };
}

export async function benchStores(n = 2000, p = 8) {
  header(`Stores: PostgreSQL vs file store, ${n} x true at concurrency ${p}`);
  const url = startCluster();
  if (!url) {
    console.log('PostgreSQL not available here (scripts/pg-cluster.sh start failed): skipped');
    return null;
  }
  try {
    const dir = tempDir('stores');
    const file = await measure('file', dir, null, n, p);
    const pg = await measure('pg', dir, url, n, p);
    console.log(
      `enqueue ${n} (one queue --count)   file ${fmt(file.enqueue)}   postgres ${fmt(pg.enqueue)}   ${ratio(pg.enqueue, file.enqueue)}`,
    );
    console.log(
      `drain, one process pass         file ${fmt(file.drain)}   postgres ${fmt(pg.drain)}   ${ratio(pg.drain, file.drain)}`,
    );
    console.log(
      `drain, 3 dispatchers (postgres)                      ${fmt(pg.three)}   ${ratio(pg.three, file.drain)} of one file pass`,
    );
    console.log(
      `throughput: file ${Math.round(n / (file.drain / 1000))}/s, postgres ${Math.round(n / (pg.drain / 1000))}/s, postgres x3 ${Math.round(n / (pg.three / 1000))}/s`,
    );
    return { file, postgres: pg, ratio_drain: pg.drain / file.drain, ratio_enqueue: pg.enqueue / file.enqueue };
  } finally {
    stopCluster();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchStores();
