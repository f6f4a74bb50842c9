// Both keepers (keeper.pl forked by launcher.pl, and dist/keeper.cjs) driven directly through
// their protocol: the same requests must leave the same run files and logs.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import KEEPER from '../../src/run/keeper.pl';
import LAUNCHER from '../../src/run/launcher.pl';
import { parseRunFile, type RunFile } from '../../src/run/run-file.js';

const NODE_KEEPER = path.resolve(__dirname, '..', '..', 'dist', 'keeper.cjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conductor-keeper-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const hex = (s: string) => `x${Buffer.from(s, 'utf8').toString('hex')}`;
let seq = 0;

interface Req {
  command: string;
  cwd?: string;
  cap?: number;
  timeoutMs?: number;
  graceMs?: number;
  /** Sends SIGUSR1 to the keeper once its handler started. */
  stopAfterStart?: boolean;
}

interface Outcome {
  rf: RunFile | null;
  log: string | null;
  lines: string[];
}

function paths() {
  const n = ++seq;
  return { runFile: path.join(dir, `${n}.run`), logPath: path.join(dir, `${n}.log`) };
}

function collect(child: ReturnType<typeof spawn>, onLine: (l: string) => void): Promise<string[]> {
  const lines: string[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(l);
      onLine(l);
    }
  });
  return new Promise((resolve) => child.on('close', () => resolve(lines)));
}

const outcome = (p: ReturnType<typeof paths>, lines: string[]): Outcome => ({
  rf: fs.existsSync(p.runFile) ? parseRunFile(fs.readFileSync(p.runFile, 'utf8')) : null,
  log: fs.existsSync(p.logPath) ? fs.readFileSync(p.logPath, 'utf8') : null,
  lines,
});

/** One launch through the Perl launcher; resolves when the keeper was reaped (K). */
async function viaPerl(req: Req, p = paths()): Promise<Outcome> {
  const child = spawn('/usr/bin/perl', ['-e', `${KEEPER}\n${LAUNCHER}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  let keeperPid = 0;
  const lines = collect(child, (l) => {
    const [op, , a] = l.split(' ');
    if (op === 'P') keeperPid = Number(a);
    if (op === 'S' && req.stopAfterStart) setTimeout(() => process.kill(keeperPid, 'SIGUSR1'), 100);
    if (op === 'K' || op === 'F') child.stdin!.end();
  });
  const f = [hex(req.cwd ?? dir), hex(req.command), hex(p.logPath), req.cap ?? 1000, hex(p.runFile), hex('boot1')];
  child.stdin!.write(
    `B 1 ${hex('PATH=/usr/bin:/bin')}\nL 7 1 ${f.join(' ')} ${req.timeoutMs ?? 0} ${req.graceMs ?? 300} ${hex('X=y z')}\n`,
  );
  return outcome(p, await lines);
}

/** The same launch through the Node keeper; resolves when it exited. */
async function viaNode(req: Req, p = paths()): Promise<Outcome> {
  const child = spawn(process.execPath, [NODE_KEEPER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = collect(child, (l) => {
    if (l.startsWith('S ') && req.stopAfterStart) setTimeout(() => child.kill('SIGUSR1'), 100);
  });
  const request = {
    id: '7',
    command: req.command,
    cwd: req.cwd ?? dir,
    env: { PATH: '/usr/bin:/bin', X: 'y z' },
    logPath: p.logPath,
    logCap: req.cap ?? 1000,
    runFile: p.runFile,
    boot: 'boot1',
    timeoutMs: req.timeoutMs ?? 0,
    graceMs: req.graceMs ?? 300,
  };
  child.stdin!.end(JSON.stringify(request));
  return outcome(p, await lines);
}

describe.each([
  ['perl', viaPerl],
  ['node', viaNode],
])('the %s keeper', (_kind, run) => {
  it('records the exit code, the output and the real times', async () => {
    const before = Date.now();
    const o = await run({ command: 'echo "$X"; sleep 0.3; exit 3' });
    expect(o.log).toBe('y z\n');
    expect(o.rf?.keeper).toMatchObject({ boot: 'boot1' });
    expect(o.rf?.handler?.startedMs).toBeGreaterThanOrEqual(before);
    expect(o.rf?.end).toMatchObject({ code: 3, signal: null, stopped: null, bytes: 4, errno: null, error: null });
    expect(o.rf!.end!.durationMs).toBeGreaterThanOrEqual(280);
    expect(o.lines.some((l) => /^S 7 \d+$/.test(l))).toBe(true);
  });

  it('enforces the timeout: TERM, then KILL after the grace', async () => {
    const o = await run({ command: 'trap "" TERM; sleep 5', timeoutMs: 300, graceMs: 300 });
    expect(o.rf?.end).toMatchObject({ code: null, signal: 9, stopped: 'timeout' });
    expect(o.rf!.end!.durationMs).toBeGreaterThanOrEqual(550);
    expect(o.rf!.end!.durationMs).toBeLessThan(3000);
  });

  it('stops the handler on SIGUSR1', async () => {
    const o = await run({ command: 'sleep 5', stopAfterStart: true });
    expect(o.rf?.end).toMatchObject({ signal: 15, stopped: 'request' });
  });

  it('keeps the first CAP bytes and counts the rest', async () => {
    const o = await run({ command: 'printf 0123456789', cap: 4 });
    expect(o.log).toBe('0123\n[conductor: output truncated, 6 more bytes dropped]\n');
    expect(o.rf?.end?.bytes).toBe(10);
  });

  it('names a working directory that does not exist', async () => {
    const o = await run({ command: 'true', cwd: path.join(dir, 'nowhere') });
    expect(o.rf?.handler).toBeNull();
    expect(o.rf?.end?.error).toMatch(/working directory .*nowhere does not exist/);
  });

  it('never starts a run whose file is already there (an adopter claimed it)', async () => {
    const p = paths();
    fs.writeFileSync(p.runFile, 'never 1 x6869\n');
    const marker = path.join(dir, `ran-${seq}`);
    const o = await run({ command: `touch ${marker}` }, p);
    expect(fs.existsSync(marker)).toBe(false);
    expect(o.rf).toMatchObject({ never: 'hi', keeper: null });
  });
});
