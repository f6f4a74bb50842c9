// The run file a keeper writes (its format is documented at the top of keeper.pl, the one both
// keepers follow): parsed here for the dispatcher and for adopters, and written here for the Node
// keeper (keeper-node.ts) and for an adopter's "never started" claim.

/** The keeper's line: who supervises the run. */
export interface KeeperLine {
  boot: string;
  pid: number;
  /** Start time in clock ticks since boot: with the pid, it names the keeper for good. */
  ticks: number;
  claimedMs: number;
}

export interface EndLine {
  code: number | null;
  signal: number | null;
  endedMs: number;
  durationMs: number;
  stopped: 'timeout' | 'request' | null;
  bytes: number;
  /** Set when the exec of the shell failed (its 127 is the keeper's, not a handler's). */
  errno: number | null;
  error: string | null;
}

export interface RunFile {
  /** Null when an adopter claimed the run before any keeper did: it never started. */
  keeper: KeeperLine | null;
  /** Why an adopter claimed it (the `never` line). */
  never: string | null;
  handler: { pid: number; startedMs: number } | null;
  end: EndLine | null;
}

const hex = (s: string) => `x${Buffer.from(s, 'utf8').toString('hex')}`;
const unhex = (field: string) => Buffer.from(field.slice(1), 'hex').toString('utf8');

const INT = /^(0|[1-9][0-9]{0,15})$/;
const num = (f: string | undefined): number | null => (f !== undefined && INT.test(f) ? Number(f) : null);
const opt = (f: string | undefined): number | null | undefined => (f === '-' ? null : (num(f) ?? undefined));
const text = (f: string | undefined): string | null | undefined =>
  f === '-' ? null : f && /^x([0-9a-f]{2})*$/.test(f) ? unhex(f) : undefined;

export function keeperLine(k: KeeperLine): string {
  return `keeper ${k.boot} ${k.pid} ${k.ticks} ${k.claimedMs}\n`;
}

export function neverLine(claimedMs: number, why: string): string {
  return `never ${claimedMs} ${hex(why)}\n`;
}

export function handlerLine(pid: number, startedMs: number): string {
  return `handler ${pid} ${startedMs}\n`;
}

export function endLine(e: EndLine): string {
  const f = (n: number | null) => (n === null ? '-' : String(n));
  const err = e.error === null ? '-' : hex(e.error);
  return `end ${f(e.code)} ${f(e.signal)} ${e.endedMs} ${e.durationMs} ${e.stopped ?? '-'} ${e.bytes} ${f(e.errno)} ${err}\n`;
}

function parseKeeper(f: string[]): KeeperLine | null {
  const [pid, ticks, claimedMs] = [num(f[2]), num(f[3]), num(f[4])];
  if (f.length !== 5 || !/^[\w.-]{1,64}$/.test(f[1] ?? '') || !pid || ticks === null || claimedMs === null) return null;
  return { boot: f[1], pid, ticks, claimedMs };
}

export function parseEnd(f: string[]): EndLine | null {
  const [code, signal, errno] = [opt(f[1]), opt(f[2]), opt(f[7])];
  const [endedMs, durationMs, bytes] = [num(f[3]), num(f[4]), num(f[6])];
  const error = text(f[8]);
  const stopped = f[5] === '-' ? null : f[5] === 'timeout' || f[5] === 'request' ? f[5] : undefined;
  if (f.length !== 9 || code === undefined || signal === undefined || errno === undefined || error === undefined) return null;
  if (endedMs === null || durationMs === null || bytes === null || stopped === undefined) return null;
  return { code, signal, endedMs, durationMs, stopped, bytes, errno, error };
}

/**
 * The run file's text as far as it is whole: lines without their newline (being written, or
 * torn by a power cut) and lines out of order count as absent. Null when the first line is not
 * a claim at all: not a run file.
 */
export function parseRunFile(textIn: string): RunFile | null {
  const lines = textIn.split('\n');
  lines.pop();
  const first = lines[0]?.split(' ') ?? [];
  const out: RunFile = { keeper: null, never: null, handler: null, end: null };
  if (first[0] === 'never') {
    const why = text(first[2]);
    return first.length === 3 && num(first[1]) !== null && typeof why === 'string' ? { ...out, never: why } : null;
  }
  if (first[0] !== 'keeper' || !(out.keeper = parseKeeper(first))) return null;
  for (const line of lines.slice(1)) {
    const f = line.split(' ');
    if (f[0] === 'handler' && !out.handler && !out.end && f.length === 3 && num(f[1]) && num(f[2]) !== null)
      out.handler = { pid: Number(f[1]), startedMs: Number(f[2]) };
    else if (f[0] === 'end' && !out.end && (out.end = parseEnd(f))) continue;
    else return null;
  }
  return out;
}
