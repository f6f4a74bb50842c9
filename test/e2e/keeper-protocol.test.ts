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
  /** Asks the keeper to stop once its handler started: RUNFILE.stop, then SIGUSR1. */
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

function askStop(runFile: string, keeperPid: number): void {
  fs.writeFileSync(`${runFile}.stop`, '');
  process.kill(keeperPid, 'SIGUSR1');
}

/** One launch through the Perl launcher; resolves when the keeper was reaped (K). */
async function viaPerl(req: Req, p = paths()): Promise<Outcome> {
  const child = spawn('/usr/bin/perl', ['-e', `${KEEPER}\n${LAUNCHER}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  let keeperPid = 0;
  const lines = collect(child, (l) => {
    const [op, , a] = l.split(' ');
    if (op === 'P') keeperPid = Number(a);
    if (op === 'S' && req.stopAfterStart) setTimeout(() => askStop(p.runFile, keeperPid), 100);
    if (op === 'D' || op === 'K' || op === 'F') child.stdin!.end();
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
    if (l.startsWith('S ') && req.stopAfterStart) setTimeout(() => askStop(p.runFile, child.pid!), 100);
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

  it('stops the handler on SIGUSR1 when its stop file is there, and only then', async () => {
    const o = await run({ command: 'sleep 5', stopAfterStart: true });
    expect(o.rf?.end).toMatchObject({ signal: 15, stopped: 'request' });
    const p = paths();
    const child = run({ command: 'sleep 1' }, p);
    await new Promise((r) => setTimeout(r, 300));
    const keeper = parseRunFile(fs.readFileSync(p.runFile, 'utf8'))!.keeper!.pid;
    process.kill(keeper, 'SIGUSR1');
    expect((await child).rf?.end).toMatchObject({ code: 0, stopped: null });
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

describe('the launcher', () => {
  it('hands runs to a pool of keepers: a keeper serves the next run once idle; a killed keeper is K', async () => {
    const child = spawn('/usr/bin/perl', ['-e', `${KEEPER}\n${LAUNCHER}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    const runs = [paths(), paths(), paths()];
    const send = (id: number, command: string) => {
      const p = runs[id - 1];
      const f = [hex(dir), hex(command), hex(p.logPath), 1000, hex(p.runFile), hex('boot1')];
      child.stdin!.write(`L ${id} 1 ${f.join(' ')} 0 300\n`);
    };
    const keeperOf = new Map<string, number>();
    const lines = collect(child, (l) => {
      const [op, id, a] = l.split(' ');
      if (op === 'P') keeperOf.set(id, Number(a));
      if (op === 'S' && id === '3') process.kill(keeperOf.get('3')!, 'SIGKILL');
      // The second run starts only once the first is over: the idle keeper takes it.
      if (op === 'D' && id === '1') setTimeout(() => send(2, 'echo two'), 100);
      if (op === 'D' && id === '2') send(3, 'sleep 5');
      if (op === 'K') child.stdin!.end();
    });
    child.stdin!.write(`B 1 ${hex('PATH=/usr/bin:/bin')}\n`);
    send(1, 'echo one');
    const all = await lines;
    expect(keeperOf.get('2')).toBe(keeperOf.get('1'));
    expect(all.find((l) => l.startsWith('D 1 '))).toMatch(/^D 1 \d+ 0 - \d+ \d+ - 4 - -$/);
    expect(fs.readFileSync(runs[1].logPath, 'utf8')).toBe('two\n');
    expect(all.some((l) => /^K 3 9$/.test(l))).toBe(true);
    const third = parseRunFile(fs.readFileSync(runs[2].runFile, 'utf8'))!;
    expect(third.handler).not.toBeNull();
    expect(third.end).toBeNull();
    process.kill(-third.handler!.pid, 'SIGKILL');
  });
});
