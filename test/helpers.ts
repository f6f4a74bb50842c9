import { execa } from 'execa';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';

export const BIN = path.resolve(__dirname, '..', 'bin', 'conductor');

const homes: string[] = [];

/** A fresh temporary home, removed after the test. */
export function tempHome(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conductor-test-'));
  homes.push(dir);
  return path.join(dir, 'home');
}

afterEach(() => {
  for (const d of homes.splice(0)) fs.rmSync(d, { recursive: true, force: true });
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
    env: { NO_COLOR: '1', CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...env },
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
