import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFailure } from './exec-limits.js';
import type { LaunchEvents, LaunchRequest } from './launch.js';
// The program's text, bundled by scripts/build.mjs (a text loader for .pl).
import PERL from './spawner.pl';

/**
 * Starts handlers from a small Perl process instead of from Node.
 *
 * Why: `fork` of a Node process costs about 1 ms of main-thread time on the
 * development machine (a bare Node spawn loop is 2.3-2.6x `xargs -P`), and
 * that is most of what draining a queue of short tasks costs. Perl forks in a
 * fraction of that, and it is always there: Debian's perl-base is an
 * Essential package. The Perl side (spawner.pl, whose header documents the
 * protocol) only forks, execs `/bin/sh -c` as the leader of a new session, and
 * copies output into the log; everything that decides (limits, timeouts,
 * signals, sampling, records) stays in Node, which talks to it over a pipe.
 *
 * If perl is missing or the helper dies, launches fall back to Node's spawn.
 */

const MAX_IN_HELPER = 900;

const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n as number, name]));

interface Pending {
  events: LaunchEvents;
  started: number;
  exit: { code: number | null; signal: string | null } | null;
  error: string | null;
  /** The exec failed: the exit status is the helper's, not a handler's. */
  execFailed: boolean;
  drainTimer: NodeJS.Timeout | null;
}

export interface Spawner {
  launch(req: LaunchRequest, events: LaunchEvents): boolean;
}

/** Which launcher starts handlers: the Perl helper where there is perl, or Node's own spawn. */
export type SpawnerChoice = 'perl' | 'node';

/** The helper process and what is in flight with it. */
interface Helper {
  child: ChildProcess | null;
  dead: boolean;
  seq: number;
  envSeq: number;
  envIds: WeakMap<object, number>;
  pending: Map<string, Pending>;
  inbuf: string;
}

/** The Perl helper, started on first use; null where there is no perl or Node's spawn was chosen. */
export function createSpawner(choice: SpawnerChoice): Spawner | null {
  if (choice === 'node' || !fs.existsSync('/usr/bin/perl')) return null;
  const h: Helper = { child: null, dead: false, seq: 0, envSeq: 0, envIds: new WeakMap(), pending: new Map(), inbuf: '' };
  return { launch: (req, events) => launch(h, req, events) };
}

// Every field is hex after an 'x', so that none is empty and none holds a space or newline.
const hex = (s: string) => `x${Buffer.from(s, 'utf8').toString('hex')}`;
const unhex = (field: string) => Buffer.from(field.slice(1), 'hex').toString('utf8');

function settle(h: Helper, id: string, p: Pending, bytes: number): void {
  h.pending.delete(id);
  if (p.drainTimer) clearTimeout(p.drainTimer);
  const exit = p.execFailed ? null : p.exit;
  p.events.done({
    code: exit?.code ?? null,
    signal: exit?.signal ?? null,
    error: p.error,
    bytes,
    durationMs: Math.round(performance.now() - p.started),
  });
}

/** One line from the helper (S spawned, F failed to fork, X exec failed, E exited, C output closed: see spawner.pl). */
function onLine(h: Helper, line: string): void {
  const [op, id, a, b] = line.split(' ');
  const p = h.pending.get(id);
  if (!p) return;
  if (op === 'S') p.events.spawned(Number(a));
  else if (op === 'F') {
    p.error = unhex(a);
    settle(h, id, p, 0);
  } else if (op === 'X') {
    p.execFailed = true;
    p.error = execFailure(Number(a), unhex(b));
  } else if (op === 'E') {
    p.exit = Number(b) > 0 ? { code: null, signal: SIGNAL_NAMES.get(Number(b)) ?? `SIG${b}` } : { code: Number(a), signal: null };
    // Output held open by a background child must not hold the task: stop reading after a moment.
    p.drainTimer = setTimeout(() => h.child?.stdin?.write(`Q ${id}\n`), 200);
  } else if (op === 'C') settle(h, id, p, Number(a));
}

function start(h: Helper): ChildProcess | null {
  if (h.child || h.dead) return h.child;
  let child: ChildProcess;
  try {
    // Its own process group and deaf to INT/TERM/HUP: a Ctrl-C or a stop signal is for the
    // dispatcher, which decides what happens to running handlers; the helper ends when its stdin does.
    // Its stderr is not ours to write to: it is the user's cron log, and the helper's only
    // words there would be perl's own ("Unable to flush stdout: Broken pipe" when the
    // dispatcher went first). Whatever goes wrong reaches Node as F/X lines or its death.
    child = spawn('/usr/bin/perl', ['-e', PERL], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  } catch {
    h.dead = true;
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
  child.on('exit', () => lost(h));
  child.on('error', () => lost(h));
  return child;
}

/** Runs in flight lose their output copy; their processes go on and end as the sampler and timeouts see them. */
function lost(h: Helper): void {
  h.dead = true;
  h.child = null;
  for (const [id, p] of h.pending) {
    p.error ??= 'the spawner helper exited';
    settle(h, id, p, 0);
  }
}

function launch(h: Helper, req: LaunchRequest, events: LaunchEvents): boolean {
  // select(2) in the helper watches at most 1,024 descriptors: past that, Node spawns.
  if (h.pending.size >= MAX_IN_HELPER) return false;
  const c = start(h);
  if (!c?.stdin?.writable) return false;
  // The launches of one dispatcher round go to the helper in one write.
  if (!c.stdin.writableCorked) {
    c.stdin.cork();
    process.nextTick(() => c.stdin?.uncork());
  }
  const envId = sendBaseEnv(h, c, req.baseEnv ?? req.env);
  const extra = req.baseEnv ? envFields(req.env) : [];
  const id = String(++h.seq);
  h.pending.set(id, { events, started: performance.now(), exit: null, error: null, execFailed: false, drainTimer: null });
  c.stdin.write(`L ${id} ${envId} ${hex(req.cwd)} ${hex(req.command)} ${hex(req.logPath)} ${req.logCap} ${extra.join(' ')}\n`);
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
