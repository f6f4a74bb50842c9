import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkId } from '../../ids.js';
import { entryProblem, storedEntryProblem, type Checks } from '../check.js';
import { readOwned, renameIfPresent, rmQuiet } from '../atomic.js';
import { foreignOwner, resolveHome, userName } from '../home-check.js';
import type { Problem } from '../roles.js';
import { reportProblem } from '../policy.js';
import { quarantineFile } from './quarantine.js';
import { commitBatch, type BatchFile } from './batch.js';
import { selfIdentity } from '../../run/proc.js';

/** Folders whose files say what runs: under `process`, a file of another user in them is not run. */
export const RUN_DIRS = new Set(['schedules', 'queue', 'running']);

export const SUBDIRS = [
  'schedules',
  'queue',
  'running',
  'history',
  'logs',
  'runs',
  'dlq',
  'quarantine',
  'locks',
  'state',
  'breakers',
  'cancel',
  'trash',
  'outcomes',
  'incoming',
  'counters',
  // Parents before children: openHome makes them one level at a time.
  'access',
  'access/tokens',
  'access/hooks',
];

/**
 * What every role of the file store shares: the home, the report of what was
 * set aside, and the one way a file of the home is read (no link followed,
 * another user's file not run, a bad record quarantined). Only file/ knows
 * the layout.
 */
export class FileHome {
  readonly home: string;
  /** The home as the user named it, for messages when it is a link. */
  readonly named: string;
  readonly problems: Problem[] = [];
  /** Set by trustForRun: the user whose files alone are run. */
  runAs: number | null = null;
  /** Files already reported as not ours or unreadable (a daemon says so once). */
  private said = new Set<string>();
  /** The history journal's owner, once a dispatcher attached (see history.ts). */
  journalOwner: string | null = null;
  /** Once the first record is written the journal's name is fixed: a later attach does not rename it. */
  journalStarted = false;

  constructor(
    home: string,
    readonly checks: Checks,
  ) {
    this.named = path.resolve(home);
    this.home = resolveHome(home);
  }

  dir(name: string): string {
    return path.join(this.home, name);
  }

  schedulePath(id: string): string {
    return path.join(this.dir('schedules'), `${checkId(id)}.json`);
  }

  runningPath(entryId: string, owner: string): string {
    return path.join(this.dir('running'), `${entryId}~${owner}.json`);
  }

  dlqPath(entryId: string): string {
    return path.join(this.dir('dlq'), `${entryId}.json`);
  }

  /** Creates several files of the home all or nothing (see batch.ts). */
  commit(files: BatchFile[]): Promise<void> {
    return commitBatch(this.home, selfIdentity().token, files, (file, why) => this.quarantine(file, why));
  }

  /** Moves an unusable file aside, records why, and remembers it for this command's report. */
  quarantine(file: string, reason: string): Problem {
    return quarantineFile(this, file, reason);
  }

  /** A file another user owns, under trustForRun: reported once, and true (the caller leaves it). */
  notOurs(file: string, uid: number): boolean {
    if (this.runAs === null || !RUN_DIRS.has(path.basename(path.dirname(file)))) return false;
    const why = foreignOwner(uid, this.runAs);
    if (!why) return false;
    this.sayOnce(file, `${why}: not run; if you trust it, chown ${userName(this.runAs)} ${file}, else remove it`);
    return true;
  }

  private sayOnce(file: string, reason: string): void {
    if (this.said.has(file)) return;
    this.said.add(file);
    reportProblem(this.problems, path.relative(this.home, file), reason, null);
  }

  /**
   * Reads a file of the home without following a link: a link or a FIFO is
   * set aside (the link itself moves), an unreadable file (another user's,
   * 0600) is reported and skipped; null for all of these.
   */
  private readHomeFile(file: string): string | null {
    let read: { text: string; uid: number } | null;
    try {
      read = readOwned(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') this.quarantine(file, 'a symbolic link (conductor follows no links in its home)');
      else if (code === 'ENOTREG') this.quarantine(file, 'not a regular file');
      else if (code === 'EACCES') this.unreadable(file);
      else throw err;
      return null;
    }
    if (read === null || this.notOurs(file, read.uid)) return null;
    return read.text;
  }

  private unreadable(file: string): void {
    let uid: number | null = null;
    try {
      uid = fs.lstatSync(file).uid;
    } catch {
      return; // gone meanwhile
    }
    if (this.notOurs(file, uid)) return;
    this.sayOnce(
      file,
      `cannot be read (permission denied; owned by ${userName(uid)}): skipped; chown it to the home's owner or remove it`,
    );
  }

  /** Parses a JSON state file; a corrupt one is quarantined and null returned. */
  readJson<T>(file: string, check: (v: any) => string | null): T | null {
    const text = this.readHomeFile(file);
    if (text === null) return null;
    let value: any;
    try {
      value = JSON.parse(text);
    } catch {
      // Not V8's message: it quotes the content, which may be anything (the reason is printed and kept).
      this.quarantine(file, 'not valid JSON');
      return null;
    }
    const why = value && typeof value === 'object' && !Array.isArray(value) ? check(value) : 'not a JSON object';
    if (why) {
      this.quarantine(file, why);
      return null;
    }
    return value as T;
  }

  /** The check of an entry (queued, running, in trash/) or a dead letter, whose file is named after it. */
  checkEntry(file: string, problem: (v: unknown) => string | null = entryProblem) {
    return (v: any): string | null => storedEntryProblem(v, (id) => namedAfter(path.basename(file), id), 'file name', problem);
  }

  /**
   * Moves a file to trash/ by rename (of several takers exactly one wins),
   * then reads and deletes it; null if someone else took it first.
   */
  take<T>(from: string, trashName: string, problem: (v: unknown) => string | null): T | null {
    const to = path.join(this.dir('trash'), trashName);
    if (!renameIfPresent(from, to)) return null;
    const value = this.readJson<T>(to, this.checkEntry(to, problem));
    rmQuiet(to);
    return value;
  }
}

/** queue/ and running/ names begin `<entry_id>~`; dlq/ and trash/ names are `<entry_id>.json` or `<entry_id>.dlq.json`. */
function namedAfter(name: string, entryId: string): boolean {
  return name.startsWith(`${entryId}~`) || name === `${entryId}.json` || name === `${entryId}.dlq.json`;
}
