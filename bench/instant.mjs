// Instant start: how soon a napping daemon starts what `conductor trigger` queues, against the
// same daemon that only looks at its tick (CONDUCTOR_TEST_TICK_ONLY=1: the loop before instant
// start), measured in the same run, for each store. Per trigger, spaced apart at random:
//   (a) `conductor trigger` spawned -> handler start (the handler writes `date +%s%N`);
//   (b) the CLI's own start-up: `conductor --version`, spawned -> exited, interleaved with (a);
//   (c) the entry's commit -> handler start, what a webhook costs past its HTTP handling (its
//       server queues in-process): the commit as a watcher of our own sees it, the entry's file
//       appearing in queue/ (file store) or the NOTIFY arriving (PostgreSQL), i.e. what the daemon
//       itself waits for;
//   (d) a real webhook: a signed POST /hooks/NAME to `conductor serve` beside the daemon (same home,
//       same store), request sent -> handler start, and the HTTP answer alone (issue #16: p99 <= 50 ms).
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, ROOT, conductor, fmt, header, idleReadings, loadAverage, percentile, ratio, tempDir } from './lib.mjs';

const PG_PORT = process.env.CONDUCTOR_PG_PORT || '25434'; // beside the stores bench's 25433
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const wallMs = () => performance.timeOrigin + performance.now();

/** Runs the CLI without blocking our event loop (the watcher must hear the commit while it runs). */
function run(args, env) {
  return new Promise((resolve, reject) => {
    const c = spawn(BIN, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`conductor ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

function startLines(file) {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function waitForLines(file, n, ms) {
  for (let waited = 0; waited < ms; waited += 2) {
    const lines = startLines(file);
    if (lines.length >= n) return lines;
    await sleep(2);
  }
  throw new Error(`no handler start within ${ms} ms`);
}

/** When each entry is committed, as a watcher of our own hears it (the first notice after `since`). */
async function commitWatcher(home, url) {
  const heard = [];
  if (!url) {
    const w = fs.watch(path.join(home, 'queue'), (type, name) => {
      if (type === 'rename' && name && !name.startsWith('.')) heard.push(wallMs());
    });
    return { after: (since) => heard.find((t) => t >= since), close: () => w.close() };
  }
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  c.on('notification', () => heard.push(wallMs()));
  await c.query('LISTEN conductor_queue');
  return { after: (since) => heard.find((t) => t >= since), close: () => c.end() };
}

/** SIGTERM and its exit; a child that has already gone sends no 'exit' to wait for. */
function stopChild(c) {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => c.on('exit', resolve));
  c.kill('SIGTERM');
  return exited;
}

/** `conductor serve` on a free port; resolves once it says where it listens (it is ready then). */
function startServe(home, env) {
  const s = spawn(BIN, ['--home', home, 'serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  s.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    s.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ url: m[1], stop: () => stopChild(s) });
    });
    s.on('exit', (code) => reject(new Error(`conductor serve exited ${code}: ${err}`)));
  });
}

/**
 * A POST signed as GitHub signs it; returns when it was sent and how long the answer took. Node's
 * fetch keeps the connection open between calls, as a sender posting often would.
 */
async function postHook(url, hook, body) {
  const signature = `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`;
  const sent = wallMs();
  const res = await fetch(url + hook.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${hook.path} answered ${res.status}: ${text}`);
  return { sent, answerMs: wallMs() - sent };
}

/** The start time the handler wrote on its `nth` run (1-based), in wall milliseconds. */
async function nthStart(file, nth) {
  const lines = await waitForLines(file, nth, 5000);
  return Number(BigInt(lines[nth - 1]) / 1000n) / 1000;
}

/**
 * One daemon on a fresh home, with `conductor serve` beside it, `n` triggers and `n` webhooks, each
 * after 0.2-1.2 s at random: a run's exit wakes the loop, so a fixed spacing would meet the tick in
 * step. The CLI's own start-up is timed between them on the instant daemon: `--version`, and a
 * `trigger` of an event nobody listens to (the same work but the entry: the store opened, the
 * schedules read, the event logged). Triggers and webhooks start the same job, one at a time.
 */
async function measure(dir, label, storeUrl, tickOnly, n) {
  const home = path.join(dir, label);
  const started = path.join(dir, `${label}.started`);
  const env = {
    ...process.env,
    NO_COLOR: '1',
    CONDUCTOR_RESOURCES_FILE: idleReadings(dir),
    CONDUCTOR_STORE: storeUrl ?? 'file',
    ...(tickOnly ? { CONDUCTOR_TEST_TICK_ONLY: '1' } : {}),
  };
  conductor(home, ['create', 'job', 'Job', `date +%s%N >> ${started}`, 'event', 'go'], env);
  const hook = JSON.parse(conductor(home, ['hook', 'create', 'bench', '--event', 'go', '--json'], env).stdout);
  const serve = await startServe(home, env); // before the daemon: a server that fails to start leaves nothing running
  const d = spawn(BIN, ['--home', home, 'process', '--daemon'], { env, stdio: 'ignore' });
  const watcher = await commitWatcher(home, storeUrl);
  const r = { a: [], c: [], d: [], http: [], version: [], noop: [] };
  const timedRun = async (into, args) => {
    const t0 = wallMs();
    await run(['--home', home, ...args], env);
    into.push(wallMs() - t0);
  };
  const body = (i) => JSON.stringify({ ref: 'refs/heads/main', after: i.toString(16).padStart(40, '0') });
  let runs = 0;
  try {
    await sleep(1500);
    // A first trigger and a first webhook, not counted: the daemon is warm and napping, the connection open.
    await run(['--home', home, 'trigger', 'go'], env);
    await nthStart(started, ++runs);
    await postHook(serve.url, hook, body(0));
    await nthStart(started, ++runs);
    for (let i = 0; i < n; i++) {
      if (!tickOnly) {
        await timedRun(r.version, ['--version']);
        await timedRun(r.noop, ['trigger', 'nobody.listens']);
      }
      await sleep(200 + Math.random() * 1000);
      const t0 = wallMs();
      await run(['--home', home, 'trigger', 'go'], env);
      const at = await nthStart(started, ++runs);
      r.a.push(at - t0);
      const commit = watcher.after(t0);
      if (commit !== undefined) r.c.push(at - commit);
      await sleep(200 + Math.random() * 1000);
      const post = await postHook(serve.url, hook, body(i + 1));
      r.d.push((await nthStart(started, ++runs)) - post.sent);
      r.http.push(post.answerMs);
    }
  } finally {
    await stopChild(d);
    await serve.stop();
    await watcher.close();
  }
  return r;
}

const stats = (xs) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs), n: xs.length });
const line = (s) => `p50 ${fmt(s.p50).padStart(8)}  p99 ${fmt(s.p99).padStart(8)}  max ${fmt(s.max).padStart(8)}`;

/** `url(label)`: a store per measurement (null: the file store). */
async function benchStore(dir, kind, url, n) {
  const tick = await measure(dir, `${kind}-tick`, url('tick'), true, n);
  const now = await measure(dir, `${kind}-instant`, url('instant'), false, n);
  const r = {
    trigger: stats(now.a),
    commit: stats(now.c),
    webhook: stats(now.d),
    webhook_http: stats(now.http),
    cli_version: stats(now.version),
    cli_noop_trigger: stats(now.noop),
  };
  const base = { trigger: stats(tick.a), commit: stats(tick.c), webhook: stats(tick.d), webhook_http: stats(tick.http) };
  const k = kind.padEnd(8);
  console.log(`${k} (a) trigger spawned -> start        ${line(r.trigger)}   tick only: ${line(base.trigger)}`);
  console.log(`${k} (b) CLI start: --version            ${line(r.cli_version)}`);
  console.log(`${k}     CLI start: trigger, no listener ${line(r.cli_noop_trigger)}`);
  console.log(`${k} (c) commit -> start                 ${line(r.commit)}   tick only: ${line(base.commit)}`);
  console.log(`${k} (d) webhook sent -> start           ${line(r.webhook)}   tick only: ${line(base.webhook)}`);
  console.log(`${k}     webhook HTTP answer             ${line(r.webhook_http)}   tick only: ${line(base.webhook_http)}`);
  console.log(
    `${k} (a) p50 - CLI start p50: ${fmt(r.trigger.p50 - r.cli_version.p50)} over --version, ${fmt(r.trigger.p50 - r.cli_noop_trigger.p50)} over a trigger without listeners; ` +
      `against the tick: (a) p50 ${ratio(r.trigger.p50, base.trigger.p50)}, (c) p50 ${ratio(r.commit.p50, base.commit.p50)}, p99 ${ratio(r.commit.p99, base.commit.p99)}, ` +
      `(d) p50 ${ratio(r.webhook.p50, base.webhook.p50)}, p99 ${ratio(r.webhook.p99, base.webhook.p99)} (target p99 <= 50 ms)`,
  );
  return { ...r, tick_only: base };
}

/**
 * PostgreSQL for the bench: CONDUCTOR_TEST_PG's cluster when set, else a throw-away one (stopped
 * after); each measurement gets a database of its own (one database is one shared queue).
 */
function openPg(dir) {
  const script = path.join(ROOT, 'scripts', 'pg-cluster.sh');
  const clusterEnv = { ...process.env, CONDUCTOR_PG_PORT: PG_PORT };
  let admin = process.env.CONDUCTOR_TEST_PG;
  let stop = () => undefined;
  if (!admin) {
    try {
      admin = execFileSync('bash', [script, 'start'], {
        env: clusterEnv,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }).trim();
    } catch {
      return null;
    }
    stop = () => execFileSync('bash', [script, 'stop'], { env: clusterEnv, stdio: 'ignore' });
  }
  const made = [];
  const database = (label) => {
    const name = `bench_${label}_${path.basename(dir)}`.replace(/[^A-Za-z0-9]/g, '_').toLowerCase();
    execFileSync('psql', [admin, '-qXc', `CREATE DATABASE ${name}`]);
    made.push(name);
    const u = new URL(admin);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const close = () => {
    for (const name of made) execFileSync('psql', [admin, '-qXc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    stop();
  };
  return { database, close };
}

export async function benchInstant(n = Number(process.env.BENCH_INSTANT_N) || 50) {
  header(
    `Instant start: trigger or webhook -> handler start on a napping daemon, ${n} of each per store, against its tick alone`,
  );
  console.log(loadAverage());
  const dir = tempDir('instant');
  const out = { file: await benchStore(dir, 'file', () => null, n), postgres: null };
  const pg = openPg(dir);
  if (!pg) console.log('PostgreSQL not available here (scripts/pg-cluster.sh start failed): skipped');
  else {
    try {
      out.postgres = await benchStore(dir, 'postgres', pg.database, n);
    } finally {
      pg.close();
    }
  }
  console.log(`${loadAverage()} (at the end)`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchInstant();
