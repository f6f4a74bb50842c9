import { execa } from 'execa';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach } from 'vitest';

export const BIN = path.resolve(__dirname, '..', 'bin', 'conductor');

/**
 * The suite runs once per store. With CONDUCTOR_TEST_PG set to an admin URL
 * (see scripts/test-postgres.sh) every home gets a database of its own and
 * every command runs with --store pointing at it.
 */
export const PG_ADMIN = process.env.CONDUCTOR_TEST_PG ?? '';
export const STORE: 'file' | 'postgres' = PG_ADMIN ? 'postgres' : 'file';
export const fileStoreOnly = STORE === 'file';

const homes: string[] = [];
const databases: string[] = [];
const storeOf = new Map<string, string>();

function psql(sql: string): void {
  execFileSync('psql', [PG_ADMIN, '-qXc', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Runs SQL on a PostgreSQL home's database (tests that play a crash or a foreign writer); prints rows unaligned. */
export function sqlOn(home: string, sql: string): string {
  return execFileSync('psql', [storeOf.get(home)!, '-qXtAc', sql], { encoding: 'utf8' });
}

/** Rewrites a stored schedule behind conductor's back, as a crash or a hand edit would leave it. */
export function editStoredSchedule(home: string, id: string, change: (s: any) => void): void {
  if (STORE === 'file') {
    const file = path.join(home, 'schedules', `${id}.json`);
    const s = JSON.parse(fs.readFileSync(file, 'utf8'));
    change(s);
    fs.writeFileSync(file, JSON.stringify(s));
    return;
  }
  const s = JSON.parse(sqlOn(home, `SELECT body FROM conductor.schedules WHERE task_id = '${id}'`));
  change(s);
  sqlOn(home, `UPDATE conductor.schedules SET body = '${JSON.stringify(s).replace(/'/g, "''")}' WHERE task_id = '${id}'`);
}

export function readStoredSchedule(home: string, id: string): any {
  if (STORE === 'file') return JSON.parse(fs.readFileSync(path.join(home, 'schedules', `${id}.json`), 'utf8'));
  return JSON.parse(sqlOn(home, `SELECT body FROM conductor.schedules WHERE task_id = '${id}'`));
}

function databaseUrl(name: string): string {
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh temporary home (and database), removed after the test. */
export function tempHome(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conductor-test-'));
  homes.push(dir);
  const home = path.join(dir, 'home');
  if (STORE === 'postgres') {
    const name = `ct_${path
      .basename(dir)
      .replace(/[^A-Za-z0-9]/g, '_')
      .toLowerCase()}`;
    psql(`CREATE DATABASE ${name}`);
    databases.push(name);
    const url = databaseUrl(name);
    storeOf.set(home, url);
    // Processes a test starts itself (daemons, shell loops) inherit the store of its latest home.
    process.env.CONDUCTOR_STORE = url;
  }
  return home;
}

/** What a command needs in its environment to work on this home's store. */
export function storeEnv(home: string): Record<string, string> {
  const url = storeOf.get(home);
  return url ? { CONDUCTOR_STORE: url } : {};
}

/** The folder of a home's run files on /dev/shm (src/store/runtime-dir.ts), removed with the home. */
function runtimeDirOf(home: string): string | null {
  try {
    const st = fs.statSync(home);
    return path.join(`/dev/shm/conductor-${process.getuid!()}`, `${st.dev.toString(16)}-${st.ino.toString(16)}`);
  } catch {
    return null;
  }
}

afterEach(() => {
  for (const d of homes.splice(0)) {
    const runtime = runtimeDirOf(path.join(d, 'home'));
    if (runtime) fs.rmSync(runtime, { recursive: true, force: true });
    fs.rmSync(d, { recursive: true, force: true });
  }
  for (const db of databases.splice(0)) {
    try {
      psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    } catch {
      /* left for the throw-away cluster to take with it */
    }
  }
});

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI against a home, as a user would. */
export async function cli(home: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const r = await execa(BIN, ['--home', home, ...args], {
    reject: false,
    env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...storeEnv(home), ...env },
    cwd: path.dirname(home),
    stripFinalNewline: false,
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Tests run two files at once on two cores, so live CPU readings would make
 * admission flaky; by default the machine reads as idle through the injected
 * readings file. The admission tests set their own readings or use real ones.
 */
export function idleReadings(home: string): string {
  const file = path.join(path.dirname(home), 'readings.json');
  if (!fs.existsSync(file)) fs.writeFileSync(file, JSON.stringify({ cpu: 0, mem: 0 }));
  return file;
}

export async function ok(home: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await cli(home, args, env);
  if (r.code !== 0) throw new Error(`conductor ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export async function json<T = any>(home: string, args: string[], env: Record<string, string> = {}): Promise<T> {
  return JSON.parse(await ok(home, [...args, '--json'], env));
}

/**
 * A digest of everything the store keeps for a home: every file of a file
 * store (names, modes, contents); the export of a PostgreSQL store.
 */
export async function stateDigest(home: string): Promise<string> {
  if (STORE === 'file') return snapshot(home);
  const dump = JSON.parse(await ok(home, ['export']));
  delete dump.exported_at;
  return createHash('sha256').update(JSON.stringify(dump)).digest('hex');
}

/** A digest of every file under a directory: names, modes and contents. */
export function snapshot(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      const st = fs.statSync(p);
      h.update(`${path.relative(dir, p)}:${st.mode}\n`);
      if (st.isDirectory()) walk(p);
      else h.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** A work directory beside the home for handler output files. */
export function workDir(home: string): string {
  const d = path.join(path.dirname(home), 'work');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

export function readLines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Alive and not a zombie (a reparented child may linger unreaped in a container). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Mounts a small tmpfs (a disk that can be filled); false where mounting is refused (not root). */
export function mountTmpfs(dir: string, size: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fills the file system of `dir` with one file, which it returns. */
export function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    /* dd stops at ENOSPC */
  }
  return filler;
}
