import * as fs from 'node:fs';
import * as path from 'node:path';
import { exists, fsyncDir, listNames, readText, writeAtomic } from '../atomic.js';
import { reportProblem } from '../policy.js';
import type { Problem } from '../roles.js';

/**
 * quarantine/: what the file store could not use, moved aside whole with a
 * `<name>.why` beside it saying why. `<folder>__<name>` keeps where it was.
 */
interface Home {
  readonly home: string;
  readonly problems: Problem[];
  dir(name: string): string;
}

/** Moves an unusable file aside, records why, and reports it. */
export function quarantineFile(h: Home, file: string, reason: string): Problem {
  const base = `${path.basename(path.dirname(file))}__${path.basename(file)}`;
  let target = path.join(h.dir('quarantine'), base);
  if (exists(target)) target = `${target}.${Date.now()}`;
  let moved: string | null = null;
  try {
    fs.renameSync(file, target);
    moved = path.relative(h.home, target);
    writeAtomic(`${target}.why`, reason + '\n');
  } catch (err) {
    // Someone else moved it first, or the disk refuses: report it either way.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') moved = null;
  }
  return reportProblem(h.problems, path.relative(h.home, file), reason, moved);
}

export function listQuarantine(h: Home): { file: string; reason: string }[] {
  return listNames(h.dir('quarantine'))
    .filter((n) => !n.endsWith('.why'))
    .map((n) => ({ file: `quarantine/${n}`, reason: (readText(path.join(h.dir('quarantine'), `${n}.why`)) ?? '').trim() }));
}

/** Moves a torn last line (no newline) of a history file to quarantine/, durably, before the caller cuts it off. */
export function setAsideTail(h: Home, file: string, fragment: Buffer, at: number): void {
  let target = path.join(h.dir('quarantine'), `history__${path.basename(file)}.torn-${at}`);
  if (exists(target)) target = `${target}.${Date.now()}`;
  const reason = `torn last line of ${path.relative(h.home, file)} at byte ${at} (${fragment.length} bytes without a newline: a writer crashed or the disk filled)`;
  writeAtomic(target, fragment);
  writeAtomic(`${target}.why`, reason + '\n');
  fsyncDir(h.dir('quarantine'));
  reportProblem(
    h.problems,
    path.relative(h.home, file),
    `torn last line (${fragment.length} bytes) set aside`,
    path.relative(h.home, target),
  );
}
