import * as fs from 'node:fs';
import * as path from 'node:path';
import { claimFile } from './claim.js';
import { processLive } from './proc.js';
import { neverLine, parseRunFile, type RunFile } from './run-file.js';

// Run files as the dispatcher and adopters meet them (the format: run-file.ts, keeper.pl).

/** The run file, if it is one of ours: opened without following a link, owned by this user. */
export function readRunFile(file: string): RunFile | 'missing' | 'bad' {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'bad';
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== process.getuid?.() || st.size > 4096) return 'bad';
    return parseRunFile(fs.readFileSync(fd, 'utf8')) ?? 'bad';
  } finally {
    fs.closeSync(fd);
  }
}

/** Is the run's keeper still at work? Only answerable on its own machine (same boot). */
export function keeperLive(rf: RunFile, boot: string): boolean {
  return rf.keeper !== null && rf.keeper.boot === boot && processLive(rf.keeper.pid, rf.keeper.ticks);
}

/**
 * Claims a run that no keeper has claimed, so that none ever will (a keeper finds the name
 * taken and exits without starting its handler). False: a keeper claimed it first.
 */
export function claimRunFile(file: string, why: string): boolean {
  const claimed = claimFile(file, neverLine(Date.now(), why));
  if (claimed && claimed !== 'taken') throw new Error(claimed);
  return claimed === '';
}

/**
 * Asks a run's keeper to stop its handler: RUNFILE.stop says which run (a keeper serves many, one
 * at a time, so the signal alone could reach the next one), then SIGUSR1 if the keeper is at work.
 * A keeper that has not started the run yet finds the file before it starts it.
 */
export function askToStop(runFile: string, boot: string): void {
  fs.writeFileSync(`${runFile}.stop`, '', { mode: 0o600 });
  const rf = readRunFile(runFile);
  if (typeof rf === 'object' && rf.keeper && keeperLive(rf, boot)) process.kill(rf.keeper.pid, 'SIGUSR1');
}

/** A recorded run's file goes (off the main thread, like the release before it). */
export function removeRunFile(file: string): void {
  fs.unlink(file, () => undefined);
  fs.unlink(`${file}.stop`, () => undefined);
}

/**
 * Run files nobody will read again: older than `ageMs`, their run not among `running` (execution
 * ids of running entries) and their keeper gone. Left by a dispatcher killed between releasing a
 * run and removing its file, by an adopter's claim of a run that never started, or by a run
 * another host's dispatcher abandoned.
 */
export function sweepRunFiles(dir: string, running: Set<string>, boot: string, ageMs: number, now = Date.now()): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    const file = path.join(dir, name);
    const id = name.replace(/\.run(\.stop|\.\d+\.tmp)?$/, '');
    if (running.has(id)) continue;
    try {
      if (now - fs.lstatSync(file).mtimeMs < ageMs) continue;
    } catch {
      continue;
    }
    const rf = name.endsWith('.run') ? readRunFile(file) : 'bad';
    if (typeof rf === 'object' && keeperLive(rf, boot)) continue;
    fs.rmSync(file, { force: true });
    n++;
  }
  return n;
}
