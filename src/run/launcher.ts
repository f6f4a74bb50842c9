import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KeeperRequest } from './keeper-request.js';
import { parseEnd, type EndLine } from './run-file.js';
// The programs' text, bundled by scripts/build.mjs (a text loader for .pl): the keeper's
// subroutines, then the launcher's loop that forks one keeper per run.
import KEEPER from './keeper.pl';
import LAUNCHER from './launcher.pl';

/**
 * Starts run keepers: forked by a small Perl launcher, or (no perl, or CONDUCTOR_SPAWNER=node)
 * as one Node process each.
 *
 * Why Perl: `fork` of a Node process costs about 1 ms of main-thread time (a bare Node spawn loop
 * is 2.3-2.8x `xargs -P`), and a keeper per run would add a second process start to every run.
 * Perl forks in a fraction of that, and a keeper forked from the launcher needs no exec; it is
 * always there (Debian's perl-base is Essential). The launcher only forks and reaps; each keeper
 * supervises its handler on its own (keeper.pl), so neither the launcher's death nor ours stops
 * a run: the dispatcher then follows the run file instead (spawn.ts).
 */

export type SpawnerChoice = 'perl' | 'node';

/** What a launch needs: the keeper's request but its id, with the environment in two parts. */
export interface LaunchRequest extends Omit<KeeperRequest, 'id' | 'env'> {
  env: NodeJS.ProcessEnv;
  /** Shared by many runs (sent to the launcher once), under `env`. */
  baseEnv?: NodeJS.ProcessEnv;
}

/** What the dispatcher hears of one keeper. */
export interface KeeperEvents {
  keeper(pid: number): void;
  spawned(handlerPid: number): void;
  /** The run never started: no keeper could be started, or it could not write its run file. */
  failed(message: string): void;
  /** The run ended (or its keeper died); its run file says how. */
  exited(): void;
  /** The run ended, as the keeper's D line says (the same as its run file's end line). */
  ended(startedMs: number | null, end: EndLine): void;
  /** Nobody will say when the keeper exits (the launcher died): follow the run file. */
  untracked(): void;
}

/** After this many deaths of the launcher (a handler that kills it, say), keepers start from Node. */
const LAUNCHER_LIVES = 3;

interface Helper {
  child: ChildProcess | null;
  deaths: number;
  seq: number;
  envSeq: number;
  envIds: WeakMap<object, number>;
  pending: Map<string, KeeperEvents>;
  inbuf: string;
}

let choice: SpawnerChoice = 'perl';
let helper: Helper | null = null;

/** Chosen by the CLI (Settings.spawner) before the first launch. */
export function chooseLauncher(c: SpawnerChoice): void {
  choice = c;
}

export function launchKeeper(req: LaunchRequest, events: KeeperEvents): void {
  if (choice === 'perl' && fs.existsSync('/usr/bin/perl')) {
    helper ??= { child: null, deaths: 0, seq: 0, envSeq: 0, envIds: new WeakMap(), pending: new Map(), inbuf: '' };
    if (helper.deaths < LAUNCHER_LIVES && launchFromPerl(helper, req, events)) return;
  }
  launchFromNode(req, events);
}

// Every text field is hex after an 'x', so that none is empty and none holds a space or newline.
const hex = (s: string) => `x${Buffer.from(s, 'utf8').toString('hex')}`;
const unhex = (field: string) => Buffer.from(field.slice(1), 'hex').toString('utf8');

/** One line from the launcher or a keeper (P, F, S, D, E, K: see launcher.pl). */
function onLine(h: Helper, line: string): void {
  const [op, id, a] = line.split(' ');
  const ev = h.pending.get(id);
  if (!ev) return;
  if (op === 'P') ev.keeper(Number(a));
  else if (op === 'S') ev.spawned(Number(a));
  else if (op === 'F') {
    h.pending.delete(id);
    ev.failed(unhex(a));
  } else if (op === 'D' || op === 'K' || op === 'E') {
    h.pending.delete(id);
    const f = line.split(' ');
    const end = op === 'D' && f.length === 11 ? parseEnd(['end', ...f.slice(3)]) : null;
    if (end) ev.ended(f[2] === '-' ? null : Number(f[2]), end);
    else ev.exited();
  }
}

function startPerl(h: Helper): ChildProcess | null {
  if (h.child) return h.child;
  let child: ChildProcess;
  try {
    // Its own process group and deaf to INT/TERM/HUP: a Ctrl-C or a stop signal is for the
    // dispatcher. Its stderr is not ours to write to (it is the user's cron log): whatever goes
    // wrong reaches us as F lines or its death.
    child = spawn('/usr/bin/perl', ['-e', `${KEEPER}\n${LAUNCHER}`], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  } catch {
    h.deaths = LAUNCHER_LIVES;
    return null;
  }
  h.child = child;
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    h.inbuf += d;
    let i: number;
    while ((i = h.inbuf.indexOf('\n')) >= 0) {
      onLine(h, h.inbuf.slice(0, i));
      h.inbuf = h.inbuf.slice(i + 1);
    }
  });
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  child.stdin!.on('error', () => undefined);
  child.on('exit', () => lost(h, child));
  child.on('error', () => lost(h, child));
  return child;
}

/** The launcher died: its keepers go on, and their runs are followed by their run files. */
function lost(h: Helper, child: ChildProcess): void {
  if (h.child !== child) return;
  h.child = null;
  h.deaths++;
  h.envIds = new WeakMap();
  const pending = [...h.pending.values()];
  h.pending.clear();
  for (const ev of pending) ev.untracked();
}

function launchFromPerl(h: Helper, req: LaunchRequest, events: KeeperEvents): boolean {
  const c = startPerl(h);
  if (!c?.stdin?.writable) return false;
  // The launches of one dispatcher round go to the launcher in one write.
  if (!c.stdin.writableCorked) {
    c.stdin.cork();
    process.nextTick(() => c.stdin?.uncork());
  }
  const envId = sendBaseEnv(h, c, req.baseEnv ?? req.env);
  const extra = req.baseEnv ? envFields(req.env) : [];
  const id = String(++h.seq);
  h.pending.set(id, events);
  const fields = [hex(req.cwd), hex(req.command), hex(req.logPath), req.logCap, hex(req.runFile), hex(req.boot)];
  c.stdin.write(`L ${id} ${envId} ${fields.join(' ')} ${req.timeoutMs} ${req.graceMs} ${extra.join(' ')}\n`);
  return true;
}

/** An environment many runs share is sent once (B) and named by its number in each launch. */
function sendBaseEnv(h: Helper, c: ChildProcess, base: NodeJS.ProcessEnv): number {
  let envId = h.envIds.get(base);
  if (envId === undefined) {
    envId = ++h.envSeq;
    h.envIds.set(base, envId);
    c.stdin!.write(`B ${envId} ${envFields(base).join(' ')}\n`);
  }
  return envId;
}

function envFields(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => hex(`${k}=${v}`));
}

/** The Node keeper, bundled beside the CLI (scripts/build.mjs). */
const NODE_KEEPER = path.join(__dirname, 'keeper.cjs');
let nodeSeq = 0;

/** One Node process per run: slower to start than a fork of the launcher, with the same keeper. */
function launchFromNode(req: LaunchRequest, events: KeeperEvents): void {
  const id = `n${++nodeSeq}`;
  const request: KeeperRequest = { ...req, id, env: req.baseEnv ? { ...req.baseEnv, ...req.env } : req.env };
  delete (request as Partial<LaunchRequest>).baseEnv;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [NODE_KEEPER], { stdio: ['pipe', 'pipe', 'ignore'], detached: true, env: {} });
  } catch (err) {
    events.failed(`cannot start a keeper: ${(err as Error).message}`);
    return;
  }
  let settled = false;
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const [op, , a] = buf.slice(0, i).split(' ');
      buf = buf.slice(i + 1);
      if (op === 'S' && !settled) events.spawned(Number(a));
      else if (op === 'F' && !settled) {
        settled = true;
        events.failed(unhex(a));
      }
    }
  });
  child.on('error', (err) => {
    if (settled) return;
    settled = true;
    events.failed(`cannot start a keeper: ${err.message}`);
  });
  // 'close', not 'exit': the S line is read before the end is told.
  child.on('close', () => {
    if (settled) return;
    settled = true;
    events.exited();
  });
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(JSON.stringify(request));
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  if (child.pid) events.keeper(child.pid);
}
