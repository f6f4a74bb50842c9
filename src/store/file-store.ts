import * as fs from 'node:fs';
import * as path from 'node:path';
import { messageOf, RunError } from '../errors.js';
import { checkId, ID_PATTERN } from '../ids.js';
import { deadLetterProblem, entryProblem, scheduleProblem, type Checks } from './check.js';
import { Journal, parseJournal } from './journal.js';
import { selfIdentity, tokenAlive } from '../run/proc.js';
import { commitBatch, rollForward, type BatchFile } from './batch.js';
import {
  newBreaker, retiredCountersOf, retiredKey, type RetiredCounters, type Awaitable, type BreakerRecord, type EventRecord, type Problem, type PromotionPlan, type RunningRecord, type Store, type StoreFinding,
} from './store.js';
import { FORMAT, type DeadLetter, type Entry, type Execution, type QueuedRef, type Schedule } from '../model.js';
import { parseQueueName, queueName } from './queue-names.js';
import {
  APPEND_FLAGS, createExclusive, exists, fsyncDir, listNames, writeAll, readBytes, readOwned, readText, renameIfPresent, rmQuiet, sweepTemps, writeAtomic, writeJsonAtomic,
} from './atomic.js';
import { foreignOwner, homeTrustProblems, openHome, resolveHome, userName } from './home-check.js';

export type { BreakerRecord, EventRecord, Problem, RunningRecord } from './store.js';

/** Folders whose files say what runs: under `process`, a file of another user in them is not run. */
/** proper-lockfile's staleness: a holder refreshes its lock's mtime every 2 s. */
const LOCK_STALE_MS = 10_000;

const RUN_DIRS = new Set(['schedules', 'queue', 'running']);

const SUBDIRS = ['schedules', 'queue', 'running', 'history', 'logs', 'dlq', 'quarantine', 'locks', 'state', 'breakers', 'cancel', 'trash', 'outcomes', 'incoming', 'counters'];

/**
 * The file store: one JSON file per schedule, a spool of one file per queue
 * entry (queue/ → running/ by rename, so a claim is atomic), one file per
 * execution, a log per execution. Only this module knows the layout.
 */
export class FileStore implements Store {
  readonly kind = 'file' as const;
  readonly home: string;
  /** The home as the user named it, for messages when it is a link. */
  private readonly named: string;
  readonly problems: Problem[] = [];
  private queueCache = new Map<string, Entry>();
  private refCache = new Map<string, QueuedRef>();
  /** Set by trustForRun: the user whose files alone are run. */
  private runAs: number | null = null;
  /** Queue names of other users' files, left where they are and no longer listed. */
  private foreign = new Set<string>();
  /** Files already reported as not ours or unreadable (a daemon says so once). */
  private said = new Set<string>();

  /** How deeply schedules are checked when read (see Checks); every record is checked. */
  constructor(home: string, private readonly checks: Checks = 'full') {
    this.named = path.resolve(home);
    this.home = resolveHome(home);
  }

  get location(): string {
    return this.home;
  }

  close(): void {}

  /** Files carry their own format version and are read as they are: nothing to upgrade yet. */
  async migrate(): Promise<[number, number]> {
    this.init();
    return [FORMAT, FORMAT];
  }

  attach(owner: string): void {
    if (!this.journal) this.journalOwner = owner;
  }

  /** Liveness is the owner's pid and start time, checked on this host: nothing to renew. */
  heartbeat(): void {}

  ownerAlive(owner: string): boolean {
    return tokenAlive(owner);
  }

  /** Returns what failed (a fold the disk refused): the pass runs on and exits 1 at its end. */
  housekeep(me: string, nowIso: string): Promise<string[]> {
    // Temp files carry real mtimes: aged by the injected clock (CONDUCTOR_NOW in 2030) every writer's temp would look abandoned.
    rollForward(this.home, tokenAlive, (file, why) => this.quarantine(file, why));
    this.sweep(Date.now());
    return this.compactJournals(tokenAlive, me, nowIso);
  }

  healthFindings(now: number): StoreFinding[] {
    const out: StoreFinding[] = [];
    const stale = staleLocks(this.dir('locks'), now, Date.now());
    out.push({ check: 'locks', ok: stale.length === 0, message: stale.length ? `stale locks: ${stale.join(', ')}` : 'no stale locks' });
    const mode = fs.lstatSync(this.home).mode & 0o777;
    const trust = homeTrustProblems(this.home, SUBDIRS, process.geteuid!());
    const unfolded = this.unfoldedJournals();
    out.push({ check: 'history', ok: unfolded.length === 0, message: unfolded.length ? `${unfolded.length} history journal(s) of finished passes could not be folded into the archive (disk full?); the next process retries` : 'history journals folded' });
    out.push(diskFinding(this.home));
    out.push({
      check: 'permissions',
      ok: (mode & 0o077) === 0 && trust.length === 0,
      message: trust.length ? trust.join('; ') : `home ${this.home} has mode ${mode.toString(8)}${mode & 0o077 ? ' (others can read it; expected 700)' : ''}`,
    });
    const foreign = this.foreignFiles(process.geteuid!());
    out.push({ check: 'ownership', ok: foreign.length === 0, message: foreign.length ? `${foreign.length} file(s) owned by another user, which process does not run: ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''}` : 'every schedule and queue file is the home owner\'s' });
    return out;
  }

  /** Files in schedules/, queue/ and running/ that `process` run by `uid` would leave alone. */
  private foreignFiles(uid: number): string[] {
    const out: string[] = [];
    for (const d of RUN_DIRS) {
      for (const n of listNames(this.dir(d))) {
        try {
          const owner = fs.lstatSync(path.join(this.dir(d), n)).uid;
          if (owner !== uid) out.push(`${d}/${n} (${userName(owner)})`);
        } catch {
          /* moved meanwhile */
        }
      }
    }
    return out;
  }

  /** Creates the home on first use, with owner-only permissions; a folder that is a symlink is refused. */
  init(): void {
    openHome(this.home, SUBDIRS, this.named);
  }

  /**
   * Before `process` runs anything: the home must be ours and writable by us
   * alone; from then on files of other users in schedules/, queue/ and
   * running/ are reported and left alone, never run.
   */
  trustForRun(): void {
    const uid = process.geteuid!();
    const problems = homeTrustProblems(this.home, SUBDIRS, uid);
    if (problems.length) throw new RunError(problems[0] + (problems.length > 1 ? ` (and ${problems.length - 1} more; see conductor health)` : ''));
    this.runAs = uid;
  }

  /** A file another user owns, under trustForRun: reported once, and true (the caller leaves it). */
  private notOurs(file: string, uid: number): boolean {
    if (this.runAs === null || !RUN_DIRS.has(path.basename(path.dirname(file)))) return false;
    const why = foreignOwner(uid, this.runAs);
    if (!why) return false;
    this.sayOnce(file, `${why}: not run; if you trust it, chown ${userName(this.runAs)} ${file}, else remove it`);
    return true;
  }

  private sayOnce(file: string, reason: string): void {
    if (this.said.has(file)) return;
    this.said.add(file);
    this.problems.push({ file: path.relative(this.home, file), reason, moved_to: null });
  }

  /** Removes temp files of writers killed mid-write, once clearly abandoned (the dispatcher does this). */
  sweep(now: number): void {
    for (const d of ['schedules', 'queue', 'running', 'history', 'dlq', 'breakers', 'state', 'quarantine', 'counters']) {
      sweepTemps(this.dir(d), 3_600_000, now);
    }
  }

  dir(name: string): string {
    return path.join(this.home, name);
  }

  // ---------- quarantine ----------

  /** Moves an unusable file aside, records why, and remembers it for this command's report. */
  quarantine(file: string, reason: string): Problem {
    const base = `${path.basename(path.dirname(file))}__${path.basename(file)}`;
    let target = path.join(this.dir('quarantine'), base);
    if (exists(target)) target = `${target}.${Date.now()}`;
    let moved: string | null = null;
    try {
      fs.renameSync(file, target);
      moved = path.relative(this.home, target);
      writeAtomic(`${target}.why`, reason + '\n');
    } catch (err) {
      // Someone else moved it first, or the disk refuses: report it either way.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') moved = null;
    }
    const p = { file: path.relative(this.home, file), reason, moved_to: moved };
    this.problems.push(p);
    return p;
  }

  listQuarantine(): { file: string; reason: string }[] {
    return listNames(this.dir('quarantine'))
      .filter((n) => !n.endsWith('.why'))
      .map((n) => ({ file: `quarantine/${n}`, reason: (readText(path.join(this.dir('quarantine'), `${n}.why`)) ?? '').trim() }));
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
    this.sayOnce(file, `cannot be read (permission denied; owned by ${userName(uid)}): skipped; chown it to the home's owner or remove it`);
  }

  /** Parses a JSON state file; a corrupt one is quarantined and null returned. */
  private readJson<T>(file: string, check: (v: any) => string | null): T | null {
    const text = this.readHomeFile(file);
    if (text === null) return null;
    let value: any;
    try {
      value = JSON.parse(text);
    } catch (err) {
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

  // ---------- schedules ----------

  private schedulePath(id: string): string {
    return path.join(this.dir('schedules'), `${checkId(id)}.json`);
  }

  private checkSchedule(file: string) {
    return (v: any): string | null => scheduleProblem(v, path.basename(file, '.json'), 'file name', this.checks);
  }

  readSchedule(id: string): Schedule | null {
    const file = this.schedulePath(id);
    return this.readJson<Schedule>(file, this.checkSchedule(file));
  }

  scheduleExists(id: string): boolean {
    return exists(this.schedulePath(id));
  }

  /** Every readable schedule, sorted by id; unreadable files are quarantined and reported. */
  listSchedules(): Schedule[] {
    const out: Schedule[] = [];
    for (const name of listNames(this.dir('schedules')).sort()) {
      const file = path.join(this.dir('schedules'), name);
      if (!name.endsWith('.json')) {
        this.quarantine(file, 'not a schedule file (expected <task-id>.json)');
        continue;
      }
      const s = this.readJson<Schedule>(file, this.checkSchedule(file));
      if (s) out.push(s);
    }
    return out;
  }

  /** Writes a new schedule; false if the id is taken. */
  createSchedule(s: Schedule): boolean {
    return createExclusive(this.schedulePath(s.task_id), JSON.stringify(s, null, 2) + '\n');
  }

  /** Callers creating schedules hold the `schedules` lock, so the check below cannot be raced by another conductor. */
  createSchedules(list: Schedule[]): boolean {
    if (list.some((s) => this.scheduleExists(s.task_id))) return false;
    if (list.length === 1) return this.createSchedule(list[0]);
    this.commit(list.map((s) => ({ dir: 'schedules', name: `${checkId(s.task_id)}.json`, data: JSON.stringify(s, null, 2) + '\n' })));
    return true;
  }

  private commit(files: BatchFile[]): void {
    commitBatch(this.home, selfIdentity().token, files, (file, why) => this.quarantine(file, why));
  }

  async promote(id: string, plan: (s: Schedule) => Awaitable<PromotionPlan | undefined>): Promise<Entry[]> {
    return this.withLock(`schedule-${id}`, async () => {
      const cur = this.readSchedule(id);
      const p = cur && await plan(cur);
      if (!p) return [];
      const file = this.schedulePath(id);
      // The intent first: a crash below leaves `pending` for the next promotion to finish.
      if (p.fresh.length || p.recover.length) writeJsonAtomic(file, { ...p.schedule, pending: [...p.recover, ...p.fresh] });
      const queued: Entry[] = [];
      for (const e of p.recover) if (!this.everQueued(e.entry_id) && this.enqueue(e)) queued.push(e);
      for (const e of p.fresh) if (this.enqueue(e)) queued.push(e);
      writeJsonAtomic(file, { ...p.schedule, pending: null });
      return queued;
    });
  }

  /**
   * Was this entry ever queued? Looked for where it may be, in the order an
   * entry moves (queue, running or trash, then history), so one that moves on
   * while we look is still found.
   */
  private everQueued(entryId: string): boolean {
    return this.entryIsLive(entryId) || exists(path.join(this.dir('trash'), `${entryId}.json`)) ||
      this.executionExists(`${entryId}.1`) || this.groupResult(entryId) !== null;
  }

  /**
   * Read-modify-write of one schedule under its lock. `change` gets the
   * current schedule and returns the new one, or undefined to leave it.
   */
  async updateSchedule(id: string, change: (s: Schedule) => Awaitable<Schedule | undefined>): Promise<Schedule | null> {
    return this.withLock(`schedule-${id}`, async () => {
      const cur = this.readSchedule(id);
      if (!cur) return null;
      const next = await change(cur);
      if (next === undefined) return cur;
      writeJsonAtomic(this.schedulePath(id), next);
      return next;
    });
  }

  /**
   * The counters go to counters/ (durably) before the schedule file goes: a
   * crash in between leaves a record whose schedule still exists, which stats
   * skips and the next delete overwrites.
   */
  async deleteSchedule(id: string): Promise<boolean> {
    return this.withLock(`schedule-${id}`, () => {
      const file = this.schedulePath(id);
      const text = readText(file);
      if (text === null) return false;
      const kept = retiredCountersOf(parseOrNull(text), FORMAT);
      if (kept) {
        writeJsonAtomic(path.join(this.dir('counters'), `${retiredKey(kept)}.json`), kept);
        fsyncDir(this.dir('counters'));
      }
      fs.unlinkSync(file);
      return true;
    });
  }

  retiredCounters(): RetiredCounters[] {
    const out: RetiredCounters[] = [];
    for (const name of listNames(this.dir('counters'))) {
      const file = path.join(this.dir('counters'), name);
      const r = this.readJson<RetiredCounters>(file, (v) => (retiredCountersOf(v, FORMAT) ? null : 'not a counters record'));
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * proper-lockfile guards read-modify-write; it is not what makes runs
   * exactly-once (its stale takeover can admit two holders), renames are.
   */
  async withLock<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const target = path.join(this.dir('locks'), name);
    this.clearBogusLock(`${target}.lock`);
    let release: (() => Promise<void>) | undefined;
    // Loaded on first use: most commands never lock, and start-up time matters from crontab.
    const lockfile = require('proper-lockfile') as typeof import('proper-lockfile');
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: `${target}.lock`,
        stale: LOCK_STALE_MS,
        update: 2_000,
        retries: { retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 200, randomize: true },
        onCompromised: () => {
          /* the write below is atomic either way; a takeover only risks a lost update */
        },
      });
    } catch (err) {
      throw new RunError(`could not lock ${name}: ${(err as Error).message}`);
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }

  /**
   * proper-lockfile takes over a lock whose mtime is older than `stale`, but
   * waits out one dated in the future (38 s, then fails): a holder refreshes
   * its mtime every 2 s, so one ahead of the real clock by more than `stale`
   * has no holder and is removed. A lock that is not a directory is not
   * proper-lockfile's and is set aside.
   */
  private clearBogusLock(lock: string): void {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(lock);
    } catch {
      return;
    }
    if (!st.isDirectory()) {
      this.quarantine(lock, 'a lock that is not a directory (not proper-lockfile\'s)');
      return;
    }
    if (st.mtimeMs - Date.now() <= LOCK_STALE_MS) return;
    try {
      fs.rmdirSync(lock);
      this.problems.push({ file: path.relative(this.home, lock), reason: `was dated in the future (${st.mtime.toISOString()}) and had no holder; removed`, moved_to: null });
    } catch {
      /* taken or removed meanwhile: proper-lockfile decides */
    }
  }

  // ---------- queue ----------

  /** An entry (queued, running, in trash/) or a dead letter, whose file is named after it. */
  private checkEntry(file: string, problem: (v: unknown) => string | null = entryProblem) {
    return (v: any): string | null => problem(v) ?? (namedAfter(path.basename(file), v.entry_id) ? null : 'entry_id does not match the file name');
  }

  /** Atomic create: the entry appears whole or not at all. */
  enqueue(entry: Entry): boolean {
    return createExclusive(path.join(this.dir('queue'), queueName(entry)), JSON.stringify(entry) + '\n');
  }

  enqueueAll(entries: Entry[]): void {
    if (entries.length === 1) {
      if (!this.enqueue(entries[0])) throw new RunError(`entry id '${entries[0].entry_id}' already exists`);
      return;
    }
    if (entries.length) this.commit(entries.map((e) => ({ dir: 'queue', name: queueName(e), data: JSON.stringify(e) + '\n' })));
  }

  /**
   * Queued entries as their file names describe them; no file is opened.
   * Names that are not ours are quarantined.
   */
  listQueued(): QueuedRef[] {
    const names = listNames(this.dir('queue'));
    // Only a long-lived dispatcher has a cache to prune; a one-shot command skips the bookkeeping.
    const seen = this.refCache.size > 0 ? new Set<string>() : null;
    const out: QueuedRef[] = [];
    for (const name of names) {
      if (this.foreign.has(name)) continue;
      seen?.add(name);
      let ref = this.refCache.get(name);
      if (!ref) {
        const parsed = parseQueueName(name) ?? this.refile(name);
        if (!parsed) continue;
        ref = parsed;
        this.refCache.set(name, ref);
      }
      out.push(ref);
    }
    if (seen && this.refCache.size > seen.size) {
      for (const k of this.refCache.keys()) {
        if (seen.has(k)) continue;
        this.refCache.delete(k);
        this.queueCache.delete(k);
      }
    }
    return out;
  }

  /**
   * A queue file whose name is not in our form but whose content is a valid
   * entry (placed by hand, or by an older layout) is renamed into form;
   * anything else is quarantined.
   */
  private refile(name: string): QueuedRef | null {
    const file = path.join(this.dir('queue'), name);
    if (!name.endsWith('.json')) {
      this.quarantine(file, 'not a queue entry file');
      return null;
    }
    const e = this.readJson<Entry>(file, entryProblem);
    if (!e) return null;
    const target = queueName(e);
    try {
      fs.renameSync(file, path.join(this.dir('queue'), target));
    } catch {
      return null; // claimed or moved meanwhile
    }
    const ref = parseQueueName(target);
    if (!ref) this.quarantine(path.join(this.dir('queue'), target), 'a queue entry whose name cannot be put in conductor\'s form');
    return ref;
  }

  /** The whole entry behind a name (queue files never change once written, so it is cached). */
  readQueued(ref: QueuedRef): Entry | null {
    let e = this.queueCache.get(ref.name);
    if (!e) {
      const file = path.join(this.dir('queue'), ref.name);
      const read = this.readJson<Entry>(file, this.checkEntry(file));
      if (!read) return null;
      e = read;
      this.queueCache.set(ref.name, e);
    }
    return e;
  }

  private findQueued(entryId: string): string | null {
    const prefix = `${entryId}~`;
    return listNames(this.dir('queue')).find((n) => n.startsWith(prefix)) ?? null;
  }

  /**
   * Claims an entry: rename queue/ → running/. Exactly one caller can win.
   * The concurrency limit is the dispatcher's check against its last listing.
   */
  claim(ref: QueuedRef, owner: string): Entry | null {
    if (this.runAs !== null && !this.ownsRun(ref)) return null;
    const to = this.runningPath(ref.entry_id, owner);
    if (!renameIfPresent(path.join(this.dir('queue'), ref.name), to)) return null;
    // The file's content is what it was when queued; a cached copy saves the read.
    const cached = this.queueCache.get(ref.name);
    this.queueCache.delete(ref.name);
    this.refCache.delete(ref.name);
    return cached ?? this.readJson<Entry>(to, this.checkEntry(to));
  }

  /** Checked before the claim, so that nothing of another user's is ever taken: its queue file and its schedule. */
  private ownsRun(ref: QueuedRef): boolean {
    for (const file of [path.join(this.dir('queue'), ref.name), this.schedulePath(ref.task_id)]) {
      let uid: number;
      try {
        uid = fs.lstatSync(file).uid;
      } catch {
        continue; // claimed by another pass, or the schedule is gone: the claim below finds out
      }
      if (this.notOurs(file, uid)) {
        this.foreign.add(ref.name);
        return false;
      }
    }
    return true;
  }

  /**
   * Takes a queued entry out of the queue (cancel, skip); exactly one of
   * take/claim wins. A caller holding the listing passes the file name and
   * saves a directory read.
   */
  takeQueued(entryId: string, name: string | null = this.findQueued(entryId)): Entry | null {
    if (!name) return null;
    this.refCache.delete(name);
    this.queueCache.delete(name);
    return this.take<Entry>(path.join(this.dir('queue'), name), `${entryId}.json`, entryProblem);
  }

  /**
   * Moves a file to trash/ by rename (of several takers exactly one wins),
   * then reads and deletes it; null if someone else took it first.
   */
  private take<T>(from: string, trashName: string, problem: (v: unknown) => string | null): T | null {
    const to = path.join(this.dir('trash'), trashName);
    if (!renameIfPresent(from, to)) return null;
    const value = this.readJson<T>(to, this.checkEntry(to, problem));
    rmQuiet(to);
    return value;
  }

  // ---------- running ----------

  private runningPath(entryId: string, owner: string): string {
    return path.join(this.dir('running'), `${entryId}~${owner}.json`);
  }

  updateRunning(entry: Entry, owner: string): void {
    writeJsonAtomic(this.runningPath(entry.entry_id, owner), entry);
  }

  /** Off the main thread: an unlink waits behind the history journal's fdatasync. */
  releaseRunning(entryId: string, owner: string): Promise<void> {
    return new Promise((resolve) => fs.unlink(this.runningPath(entryId, owner), () => resolve()));
  }


  /** The owner of every running entry, from file names alone. */
  runningOwners(): string[] {
    return listNames(this.dir('running')).map((n) => /~(.+)\.json$/.exec(n)?.[1] ?? '');
  }

  listRunning(): RunningRecord[] {
    const out: RunningRecord[] = [];
    for (const name of listNames(this.dir('running'))) {
      const file = path.join(this.dir('running'), name);
      const m = /^(.+)~(.+)\.json$/.exec(name);
      if (!m) {
        this.quarantine(file, 'not a running entry file');
        continue;
      }
      const e = this.readJson<Entry>(file, this.checkEntry(file));
      if (e) out.push({ entry: e, owner: m[2], file });
    }
    return out;
  }

  /** Moves a running entry to a new owner (crash recovery); only one recoverer wins. */
  takeOver(rec: RunningRecord, newOwner: string): boolean {
    try {
      if (this.notOurs(rec.file, fs.lstatSync(rec.file).uid)) return false;
    } catch {
      return false;
    }
    return renameIfPresent(rec.file, this.runningPath(rec.entry.entry_id, newOwner));
  }

  /** True if the entry is anywhere past the given state: queued, running, dead-lettered. */
  entryIsLive(entryId: string, exceptOwner?: string): boolean {
    if (this.findQueued(entryId)) return true;
    if (listNames(this.dir('running')).some((n) => n.startsWith(`${entryId}~`) && n !== `${entryId}~${exceptOwner}.json`)) return true;
    return exists(this.dlqPath(entryId));
  }

  /** Any queued or running entry of this task (overlap: skip). */
  hasLiveEntryFor(taskId: string): boolean {
    if (this.listQueued().some((e) => e.task_id === taskId)) return true;
    return this.listRunning().some((r) => r.entry.task_id === taskId);
  }

  // ---------- run groups ----------

  /** Records the final outcome of an entry that belongs to a run group, for its downstream entries. */
  settleGroup(e: Entry, status: string, retrying: boolean): void {
    if (!e.group || retrying) return;
    writeJsonAtomic(path.join(this.dir('outcomes'), `${e.entry_id}.json`), { format: FORMAT, entry_id: e.entry_id, group: e.group, status });
  }

  /** The final outcome of an upstream entry, or null while it is still to run. */
  groupResult(entryId: string): string | null {
    const text = readText(path.join(this.dir('outcomes'), `${entryId}.json`));
    if (text === null) return null;
    try {
      return JSON.parse(text).status ?? null;
    } catch {
      return 'failed';
    }
  }

  // ---------- cancel requests ----------

  requestCancel(entryId: string): void {
    writeAtomic(path.join(this.dir('cancel'), entryId), new Date().toISOString());
  }

  cancelRequested(entryId: string): boolean {
    return exists(path.join(this.dir('cancel'), entryId));
  }

  /** Entry ids with a pending cancel request (one directory read for all). */
  cancelRequests(): string[] {
    return listNames(this.dir('cancel'));
  }

  clearCancel(entryId: string): void {
    rmQuiet(path.join(this.dir('cancel'), entryId));
  }

  // ---------- history and logs ----------

  private journal: Journal | null = null;
  private journalOwner: string | null = null;

  /** Every process appends to a journal of its own: one writer per file is what keeps its framing exact. */
  private ownJournal(): Journal {
    this.journal ??= new Journal(path.join(this.dir('history'), `${this.journalOwner ?? selfIdentity().token}.jsonl`));
    return this.journal;
  }

  /** Appends an execution record and waits until it is on disk (records of one moment share an fsync). */
  async recordExecution(x: Execution): Promise<void> {
    const j = this.ownJournal();
    j.append(x);
    await j.durable();
  }

  private journals(): string[] {
    return listNames(this.dir('history')).filter((n) => n.endsWith('.jsonl')).map((n) => path.join(this.dir('history'), n));
  }

  /**
   * The text of every history file as of one moment. A fold moves records
   * from a journal (renamed, then deleted) into the archive while we read:
   * when a file we listed is gone, its records may be in the archive we read
   * before, so everything is read again. A record then seen in both places
   * is a byte-identical copy, counted once.
   */
  private historyTexts(): { file: string; text: string }[] {
    for (let attempt = 0; ; attempt++) {
      const out: { file: string; text: string }[] = [];
      let vanished = false;
      for (const file of this.journals()) {
        let text: string | null;
        try {
          text = readText(file);
        } catch (err) {
          // A link or a device planted in history/: never read through, set aside.
          this.quarantine(file, `not a history file conductor can read (${(err as NodeJS.ErrnoException).code ?? messageOf(err)})`);
          continue;
        }
        if (text === null) vanished = true;
        else out.push({ file, text });
      }
      if (!vanished || attempt >= 20) return out;
    }
  }

  /**
   * Every execution record, in no particular order. Only byte-identical
   * copies count once (a fold cut short leaves a record in a journal and in
   * the archive); two different records of one execution are both returned
   * and reported, since they mean it ran twice.
   */
  private allExecutions(): Execution[] {
    const seen = new Map<string, string[]>();
    const out: Execution[] = [];
    for (const { file, text } of this.historyTexts()) {
      const j = parseJournal<Execution>(text);
      let foreign = 0;
      for (const { line, value } of j.records) {
        if (typeof value.execution_id !== 'string') {
          foreign++;
          continue;
        }
        const copies = seen.get(value.execution_id) ?? [];
        if (copies.includes(line)) continue;
        copies.push(line);
        seen.set(value.execution_id, copies);
        out.push(value);
      }
      this.reportDamage(file, j.corrupt + foreign, j.tail);
    }
    for (const [id, copies] of seen) {
      if (copies.length > 1) this.problems.push({ file: 'history', reason: `execution ${id} has ${copies.length} different records (did it run twice?); all are shown`, moved_to: null });
    }
    return out;
  }

  /** Lines of a history file that are not records are reported, never silently dropped. */
  private reportDamage(file: string, corrupt: number, tail: string): void {
    const rel = path.relative(this.home, file);
    if (corrupt) this.problems.push({ file: rel, reason: `${corrupt} line(s) that are not execution records`, moved_to: null });
    // The last line of a journal whose writer lives may be being written right now.
    const writer = historyWriter(path.basename(file));
    if (tail && !(writer && tokenAlive(writer))) {
      this.problems.push({ file: rel, reason: `torn last line (${Buffer.byteLength(tail)} bytes without a newline; the next fold sets it aside)`, moved_to: null });
    }
  }

  /**
   * Folds the journals of dispatchers that are gone into one archive per
   * month, so that a crontab pass a minute does not leave 1,440 files a day.
   * Claim by rename (one compactor wins), then under the archive's lock
   * append, sync, read back and compare, and only then delete the journal.
   * A failed fold truncates the archive back and keeps the journal, renamed
   * `unfolded~...` for `health` and the next pass. Returns what failed.
   */
  async compactJournals(isAlive: (owner: string) => boolean, me: string, nowIso: string): Promise<string[]> {
    const claimed = this.claimFinishedJournals(isAlive, me);
    if (!claimed.length) return [];
    const archive = path.join(this.dir('history'), `archive-${nowIso.slice(0, 7)}.jsonl`);
    try {
      return await this.withLock('history-archive', () => claimed.flatMap((file) => this.foldJournal(file, archive)));
    } catch (err) {
      for (const file of claimed) this.keepUnfolded(file);
      return [`could not fold history journals into ${path.relative(this.home, archive)} (kept for the next pass): ${messageOf(err)}`];
    }
  }

  private claimFinishedJournals(isAlive: (owner: string) => boolean, me: string): string[] {
    const out: string[] = [];
    for (const name of listNames(this.dir('history'))) {
      if (!name.endsWith('.jsonl') || name.startsWith('archive-')) continue;
      const owner = historyWriter(name);
      if (!owner || owner === me || owner === 'cli' || isAlive(owner)) continue;
      const claimed = path.join(this.dir('history'), `compact~${me}~${journalBase(name)}`);
      if (renameIfPresent(path.join(this.dir('history'), name), claimed)) out.push(claimed);
    }
    return out;
  }

  /** One journal into the archive; [] when done, else why it was kept. */
  private foldJournal(file: string, archive: string): string[] {
    try {
      const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
      let data: Buffer;
      try {
        data = fs.readFileSync(fd);
        const end = data.lastIndexOf(0x0a) + 1;
        if (end < data.length) {
          this.setAsideTail(file, data.subarray(end), end);
          fs.ftruncateSync(fd, end);
        }
      } finally {
        fs.closeSync(fd);
      }
      const end = data.lastIndexOf(0x0a) + 1;
      if (end > 0) {
        appendVerified(archive, data.subarray(0, end), (fragment, at) => this.setAsideTail(archive, fragment, at));
        fsyncDir(this.dir('history'));
      }
      fs.unlinkSync(file);
      return [];
    } catch (err) {
      this.keepUnfolded(file);
      return [`could not fold history journal ${path.relative(this.home, file)} into ${path.relative(this.home, archive)} (kept for the next pass): ${messageOf(err)}`];
    }
  }

  private keepUnfolded(claimed: string): void {
    renameIfPresent(claimed, path.join(this.dir('history'), `unfolded~${journalBase(path.basename(claimed))}`));
  }

  /** Moves a torn last line (no newline) of a history file to quarantine/, durably, before the caller cuts it off. */
  private setAsideTail(file: string, fragment: Buffer, at: number): void {
    let target = path.join(this.dir('quarantine'), `history__${path.basename(file)}.torn-${at}`);
    if (exists(target)) target = `${target}.${Date.now()}`;
    const reason = `torn last line of ${path.relative(this.home, file)} at byte ${at} (${fragment.length} bytes without a newline: a writer crashed or the disk filled)`;
    writeAtomic(target, fragment);
    writeAtomic(`${target}.why`, reason + '\n');
    fsyncDir(this.dir('quarantine'));
    this.problems.push({ file: path.relative(this.home, file), reason: `torn last line (${fragment.length} bytes) set aside`, moved_to: path.relative(this.home, target) });
  }

  /** Journals a fold has given back (disk full...), or that a crashed compactor left claimed. */
  private unfoldedJournals(): string[] {
    return listNames(this.dir('history')).filter((n) => n.startsWith('unfolded~') || (n.startsWith('compact~') && !tokenAlive(n.split('~')[1])));
  }

  executionExists(executionId: string): boolean {
    return this.getExecution(executionId) !== null;
  }

  getExecution(executionId: string): Execution | null {
    checkId(executionId, 'execution id');
    const needle = `"execution_id":"${executionId}"`;
    for (const { text } of this.historyTexts()) {
      if (!text.includes(needle)) continue;
      const found = parseJournal<Execution>(text).records.find((r) => r.value.execution_id === executionId);
      if (found) return found.value;
    }
    return null;
  }

  /** Executions, newest first. */
  listExecutions(filter: { taskId?: string; limit?: number } = {}): Execution[] {
    const out = this.allExecutions().filter((x) => !filter.taskId || x.task_id === filter.taskId);
    out.sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at) || b.finished_at.localeCompare(a.finished_at) || (b.execution_id < a.execution_id ? -1 : 1));
    return filter.limit ? out.slice(0, filter.limit) : out;
  }

  logPath(executionId: string): string {
    return path.join(this.dir('logs'), `${executionId}.log`);
  }

  readLog(x: Execution): Buffer {
    return (x.log && readBytes(x.log)) || Buffer.alloc(0);
  }

  // ---------- dead letters ----------

  private dlqPath(entryId: string): string {
    return path.join(this.dir('dlq'), `${entryId}.json`);
  }

  toDlq(d: DeadLetter): void {
    createExclusive(this.dlqPath(d.entry_id), JSON.stringify(d, null, 2) + '\n');
  }

  listDlq(): DeadLetter[] {
    const out: DeadLetter[] = [];
    for (const name of listNames(this.dir('dlq')).sort()) {
      const file = path.join(this.dir('dlq'), name);
      const d = this.readJson<DeadLetter>(file, this.checkEntry(file, deadLetterProblem));
      if (d) out.push(d);
    }
    return out;
  }

  /** Removes one dead letter and returns it; only one caller gets it. */
  takeDlq(entryId: string): DeadLetter | null {
    return this.take<DeadLetter>(this.dlqPath(checkId(entryId, 'entry id')), `${entryId}.dlq.json`, deadLetterProblem);
  }

  // ---------- breakers ----------

  private breakerPath(name: string): string {
    return path.join(this.dir('breakers'), `${checkId(name, 'circuit breaker name')}.json`);
  }

  readBreaker(name: string): BreakerRecord | null {
    const file = this.breakerPath(name);
    return this.readJson<BreakerRecord>(file, (v) => (typeof v.state === 'string' ? null : 'not a breaker record'));
  }

  listBreakers(): BreakerRecord[] {
    const out: BreakerRecord[] = [];
    for (const name of listNames(this.dir('breakers')).sort()) {
      // Not a name a breaker can have: someone else's file, set aside like any foreign file.
      if (!name.endsWith('.json') || !ID_PATTERN.test(name.slice(0, -'.json'.length))) {
        this.quarantine(path.join(this.dir('breakers'), name), 'not a breaker file (expected <breaker-name>.json)');
        continue;
      }
      const b = this.readBreaker(name.slice(0, -'.json'.length));
      if (b) out.push(b);
    }
    return out;
  }

  async updateBreaker(name: string, change: (b: BreakerRecord) => BreakerRecord | undefined): Promise<BreakerRecord> {
    return this.withLock(`breaker-${name}`, () => {
      const cur = this.readBreaker(name) ?? newBreaker(name, FORMAT);
      const next = change(cur);
      if (next === undefined) return cur;
      writeJsonAtomic(this.breakerPath(name), next);
      return next;
    });
  }

  // ---------- small state files ----------

  private statePath(name: string): string {
    return path.join(this.dir('state'), name);
  }

  isPaused(): boolean {
    return exists(this.statePath('paused'));
  }

  setPaused(paused: boolean, at: string): void {
    if (paused) writeAtomic(this.statePath('paused'), at + '\n');
    else rmQuiet(this.statePath('paused'));
  }

  readState<T>(name: string): T | null {
    const file = this.statePath(`${name}.json`);
    return this.readJson<T>(file, () => null);
  }

  writeState(name: string, value: unknown): void {
    writeJsonAtomic(this.statePath(`${name}.json`), value);
  }

  appendEvent(rec: EventRecord): void {
    const fd = fs.openSync(this.statePath('events.jsonl'), APPEND_FLAGS, 0o600);
    try {
      writeAll(fd, Buffer.from(JSON.stringify(rec) + '\n'));
    } finally {
      fs.closeSync(fd);
    }
  }

  listEvents(limit: number): EventRecord[] {
    const text = readText(this.statePath('events.jsonl')) ?? '';
    const out: EventRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        /* a line torn by a crash mid-append */
      }
    }
    return out.slice(-limit).reverse();
  }

  pidFile(): string {
    return this.statePath('daemon.pid');
  }
}

/**
 * Appends whole lines to an archive (its lock held): a torn tail left by a
 * crash is set aside first so that it cannot swallow our first line; what we
 * write is synced and read back, and on any failure cut off again.
 */
function appendVerified(file: string, data: Buffer, setAside: (fragment: Buffer, at: number) => void): void {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  try {
    let size = fs.fstatSync(fd).size;
    const at = lineStart(fd, size);
    if (at < size) {
      setAside(readAt(fd, at, size - at), at);
      fs.ftruncateSync(fd, at);
      size = at;
    }
    try {
      writeAll(fd, data, size);
      fs.fdatasyncSync(fd);
      if (!readAt(fd, size, data.length).equals(data)) throw new Error(`${file} did not read back what was written`);
    } catch (err) {
      fs.ftruncateSync(fd, size);
      fs.fdatasyncSync(fd);
      throw err;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The offset just past the last newline before `size` (0 if there is none). */
function lineStart(fd: number, size: number): number {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - 65_536);
    const i = readAt(fd, start, end - start).lastIndexOf(0x0a);
    if (i >= 0) return start + i + 1;
    end = start;
  }
  return 0;
}

function readAt(fd: number, at: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, at + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** The journal's own name, without the marks of a fold in progress or given back. */
function journalBase(name: string): string {
  return name.replace(/^compact~[^~]*~/, '').replace(/^unfolded~/, '');
}

/** Who may still append to a history file: the compactor of a claimed journal, the owner of one; null for an archive. */
function historyWriter(name: string): string | null {
  if (name.startsWith('archive-')) return null;
  if (name.startsWith('compact~')) return name.split('~')[1];
  return journalBase(name).slice(0, -'.jsonl'.length);
}

/** Little free space on the home's file system: folds and records will start to fail. */
function diskFinding(home: string): StoreFinding {
  const st = fs.statfsSync(home);
  const free = st.bavail * st.bsize;
  const total = st.blocks * st.bsize;
  const low = free < 64 * 1024 * 1024 && free < total * 0.05;
  return { check: 'disk', ok: !low, message: `${Math.floor(free / 1024)} KiB free of ${Math.floor(total / 1024)} KiB on the home's file system${low ? ' (under 5 %)' : ''}` };
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** queue/ and running/ names begin `<entry_id>~`; dlq/ and trash/ names are `<entry_id>.json` or `<entry_id>.dlq.json`. */
function namedAfter(name: string, entryId: string): boolean {
  return name.startsWith(`${entryId}~`) || name === `${entryId}.json` || name === `${entryId}.dlq.json`;
}

/** Locks untouched for a minute (by the clock in use), or dated in the future by the real clock (no holder keeps that). */
function staleLocks(dir: string, now: number, realNow: number): string[] {
  const out: string[] = [];
  for (const n of listNames(dir)) {
    if (!n.endsWith('.lock')) continue;
    try {
      const mtime = fs.lstatSync(path.join(dir, n)).mtime;
      const name = n.replace(/\.lock$/, '');
      if (mtime.getTime() - realNow > LOCK_STALE_MS) out.push(`${name} (dated in the future, ${mtime.toISOString()})`);
      else if (now - mtime.getTime() > 60_000) out.push(name);
    } catch {
      /* released meanwhile */
    }
  }
  return out;
}
