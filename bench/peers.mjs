// Peers (#17): conductor's PostgreSQL store against graphile-worker and pg-boss, in the same run on
// one throw-away durable cluster (fsync on), a database each: enqueue N jobs in one call, then drain
// them, each job spawning `/bin/sh -c true`, at concurrency 8 with one worker process and with three.
// A drain is timed from the worker processes' start (the jobs already queued; for conductor that is how
// crontab runs it) to the exit of the last one. The peers are installed by npm into a folder under
// the temporary directory named for their versions (kept: a later run reuses it), never into
// package.json; without the registry (no network) the bench says so and skips.
// Standalone: node bench/peers.mjs [N] (default 2,000).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, ROOT, conductor, fmt, header, idleReadings, loadAverage, ratio, tempDir } from './lib.mjs';

const PORT = '25437'; // beside the stores bench's 25433 and the instant bench's 25434
const PEERS = { 'graphile-worker': '0.17.3', 'pg-boss': '10.4.2' };
const HELPERS = path.join(ROOT, 'bench', 'peers');

/** The peers' install folder, installed now unless an earlier run left it complete; null when npm cannot. */
function installPeers() {
  const specs = Object.entries(PEERS).map(([name, version]) => `${name}@${version}`);
  const dir = path.join(os.tmpdir(), `conductor-bench-peers-${specs.join('-')}`);
  const complete = () =>
    Object.entries(PEERS).every(([name, version]) => {
      try {
        return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version === version;
      } catch {
        return false;
      }
    });
  if (complete()) return dir;
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', ...specs], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status === 0 && complete()) return dir;
  // npm's first error line is its code (ECONNREFUSED, ENOTFOUND, E404...).
  const why = r.error ? r.error.message : (r.stderr || '').split('\n').find((l) => l.startsWith('npm error'));
  console.log(`peers: npm install ${specs.join(' ')} failed (no network?): skipped${why ? ` [${why}]` : ''}`);
  return null;
}

function cluster(verb) {
  return execFileSync('bash', [path.join(ROOT, 'scripts', 'pg-cluster.sh'), verb], {
    env: { ...process.env, CONDUCTOR_PG_PORT: PORT, CONDUCTOR_PG_DURABLE: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', verb === 'start' ? 'inherit' : 'ignore'],
  }).trim();
}

/** Runs commands ([cmd, args, env]) at once; resolves with the wall time to the last exit and each one's JSON output. */
function together(commands, timeoutMs) {
  const t0 = performance.now();
  return Promise.all(
    commands.map(
      ([cmd, args, env = {}]) =>
        new Promise((resolve, reject) => {
          const c = spawn(cmd, args, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
          const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
          let out = '';
          c.stdout.on('data', (d) => (out += d));
          c.on('close', (code, signal) => {
            clearTimeout(timer);
            if (code !== 0) reject(new Error(`${[cmd, ...args].join(' ')} exited ${code ?? signal}`));
            else if (!out.trim()) resolve(null);
            else
              try {
                resolve(JSON.parse(out));
              } catch (e) {
                reject(e);
              }
          });
        }),
    ),
  ).then((outputs) => ({ ms: performance.now() - t0, outputs }));
}

/** A drain: `workers` commands at once, which together must report every job succeeded. */
async function drain(label, n, workers) {
  const r = await together(workers, 60_000 + n * 250);
  const succeeded = r.outputs.reduce((a, o) => a + o.succeeded, 0);
  if (succeeded !== n) throw new Error(`${label}: ${succeeded} of ${n} jobs succeeded`);
  return r.ms;
}

async function measureConductor(dir, url, n, p) {
  const env = { CONDUCTOR_STORE: url, CONDUCTOR_RESOURCES_FILE: idleReadings(dir) };
  const home = path.join(dir, 'conductor');
  conductor(home, ['migrate'], env);
  conductor(home, ['create', 'noop', 'Noop', 'true', 'event', 'never'], env);
  const enqueue = conductor(home, ['queue', 'noop', '--count', String(n)], env).ms;
  const args = ['process', '--max-concurrent', String(p), '--max-cpu', '100', '--json'];
  const one = await drain('conductor, one process', n, [[BIN, ['--home', home, ...args], env]]);
  conductor(home, ['queue', 'noop', '--count', String(n)], env);
  // Three dispatchers, each with its own local home, share the queue; --max-concurrent is global (8 slots in all).
  // --wait: like the peers' workers they stay until the queue is drained (a plain pass that finds the
  // home full with nothing of its own to wait for exits at once, leaving the work to the others).
  const three = await drain(
    'conductor, three processes',
    n,
    [1, 2, 3].map((i) => [
      BIN,
      ['--home', `${home}-host${i}`, ...args, '--wait'],
      { ...env, CONDUCTOR_TEST_HOST_ID: `bench${i}` },
    ]),
  );
  return { enqueue, one, three };
}

/** A peer's helper script (bench/peers/NAME.mjs): setup, enqueue (in-process call and whole process), drains. */
function peer(name, peersDir, url) {
  const script = path.join(HELPERS, `${name}.mjs`);
  const cmd = (...args) => [process.execPath, [script, peersDir, url, ...args.map(String)]];
  return {
    work: cmd,
    setup: () => together([cmd('setup')], 120_000),
    enqueue: async (n) => {
      const r = await together([cmd('enqueue', n)], 120_000);
      return { call: r.outputs[0].ms, process: r.ms };
    },
  };
}

/** Concurrency p split between three processes: 8 -> 3, 3, 2. */
const split3 = (p) => [0, 1, 2].map((i) => Math.floor(p / 3) + (i < p % 3 ? 1 : 0));

async function measureGraphile(peersDir, url, n, p) {
  const g = peer('graphile-worker', peersDir, url);
  await g.setup();
  const enqueue = await g.enqueue(n);
  const one = await drain('graphile-worker, one process', n, [g.work('work', p)]);
  await g.enqueue(n);
  const three = await drain(
    'graphile-worker, three processes',
    n,
    split3(p).map((c) => g.work('work', c)),
  );
  return { enqueue: enqueue.process, enqueue_call: enqueue.call, one, three };
}

/** pg-boss, one variant: p workers claiming one job each, or (`batched`) one worker claiming p jobs at a time. */
async function measurePgBoss(peersDir, url, n, p, batched) {
  const b = peer('pg-boss', peersDir, url);
  await b.setup();
  const enqueue = await b.enqueue(n);
  const variant = (c) => (batched ? b.work('work', 1, c) : b.work('work', c, 1));
  const one = await drain('pg-boss, one process', n, [variant(p)]);
  await b.enqueue(n);
  const three = await drain('pg-boss, three processes', n, split3(p).map(variant));
  return { enqueue: enqueue.process, enqueue_call: enqueue.call, one, three };
}

export async function benchPeers(n = 2000, p = 8) {
  const names = Object.entries(PEERS).map(([name, version]) => `${name} ${version}`);
  header(`Peers: conductor (PostgreSQL store) vs ${names.join(' and ')}, ${n} x /bin/sh -c true at concurrency ${p}`);
  const peersDir = installPeers();
  if (!peersDir) return null;
  let url;
  try {
    url = cluster('start');
  } catch {
    console.log('PostgreSQL not available here (scripts/pg-cluster.sh start failed): skipped');
    return null;
  }
  const loadBefore = loadAverage();
  try {
    const { default: pg } = await import('pg');
    const admin = new pg.Client(url);
    await admin.connect();
    for (const db of ['conductor', 'graphile', 'pgboss_single', 'pgboss_batch']) await admin.query(`CREATE DATABASE ${db}`);
    await admin.end();
    const at = (db) => url.replace(/\/postgres$/, `/${db}`);
    const dir = tempDir('peers');
    const c = await measureConductor(dir, at('conductor'), n, p);
    const g = await measureGraphile(peersDir, at('graphile'), n, p);
    const b1 = await measurePgBoss(peersDir, at('pgboss_single'), n, p, false);
    const b8 = await measurePgBoss(peersDir, at('pgboss_batch'), n, p, true);
    const [s1, s2, s3] = split3(p);

    const cell = (ms, base) => (base ? `${fmt(ms)} (${ratio(ms, base)})` : fmt(ms)).padEnd(22);
    const row = (label, ...cells) => console.log(`${label.padEnd(34)}${cells.join('')}`.trimEnd());
    row('', ...['conductor', 'graphile-worker', 'pg-boss, 1 per claim', `pg-boss, batches of ${p}`].map((h) => h.padEnd(22)));
    row('drain, one worker process', cell(c.one), cell(g.one, c.one), cell(b1.one, c.one), cell(b8.one, c.one));
    row('drain, three worker processes', cell(c.three), cell(g.three, c.three), cell(b1.three, c.three), cell(b8.three, c.three));
    row(
      `enqueue ${n}, whole process`,
      cell(c.enqueue),
      cell(g.enqueue, c.enqueue),
      cell(b1.enqueue, c.enqueue),
      '(the same insert)',
    );
    row(
      `enqueue ${n}, the call alone`,
      '(queue --count)'.padEnd(22),
      cell(g.enqueue_call, c.enqueue),
      cell(b1.enqueue_call, c.enqueue),
    );
    console.log(
      `(peer / conductor in brackets; enqueue: conductor's whole \`queue --count ${n}\` process, graphile-worker's addJobs, pg-boss's insert)`,
    );
    console.log(
      `three processes: conductor 3 x process --wait --max-concurrent ${p} (global: ${p} slots between them); graphile-worker concurrency ${s1}+${s2}+${s3}; ` +
        `pg-boss ${s1}+${s2}+${s3} workers of 1 job per claim, or 1 worker per process with batches of ${s1}, ${s2}, ${s3}`,
    );
    console.log(
      `pg-boss 10 polls: pollingIntervalSeconds 0.5 (its minimum), and a worker waits out the interval after every claim, ` +
        `even a full one: at most ${p} jobs per 0.5 s here (pg-boss 10 has no concurrency option: one work() call is one loop)`,
    );
    const rate = (ms) => `${Math.round(n / (ms / 1000))}/s`;
    console.log(
      `throughput, one process: conductor ${rate(c.one)}, graphile-worker ${rate(g.one)}, pg-boss ${rate(b1.one)} / ${rate(b8.one)}`,
    );
    console.log(`${loadBefore} at the start; ${loadAverage()} at the end`);
    return {
      conductor: c,
      graphile_worker: g,
      pg_boss_single: b1,
      pg_boss_batch: b8,
      ratio_one: { graphile_worker: g.one / c.one, pg_boss_single: b1.one / c.one, pg_boss_batch: b8.one / c.one },
      ratio_three: { graphile_worker: g.three / c.three, pg_boss_single: b1.three / c.three, pg_boss_batch: b8.three / c.three },
      ratio_enqueue: { graphile_worker: g.enqueue / c.enqueue, pg_boss: b1.enqueue / c.enqueue },
    };
  } finally {
    cluster('stop');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPeers(Number(process.argv[2]) || 2000);
