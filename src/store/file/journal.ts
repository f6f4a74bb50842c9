import * as fs from 'node:fs';
import { APPEND_FLAGS, writeAll } from '../atomic.js';

/**
 * An append-only file of JSON lines with group commit. Creating a file costs
 * about half a millisecond on the disks we run on, an append a few
 * microseconds: so each dispatcher appends its execution records to its own
 * journal, and callers that need a record durable await one shared fdatasync.
 *
 * Framing: a record is one line ending in a newline. A journal has one
 * writer, which knows its length: an append that fails or is cut short (a
 * full disk) is truncated off again, so the next record never merges with a
 * torn one. A line torn by a crash has no newline and readers report it.
 */
export class Journal {
  private fd: number | null = null;
  private length = 0;
  private syncing: Promise<void> | null = null;
  private again: Promise<void> | null = null;

  constructor(readonly file: string) {}

  append(record: unknown): void {
    if (this.fd === null) {
      this.fd = fs.openSync(this.file, APPEND_FLAGS, 0o600);
      this.length = fs.fstatSync(this.fd).size;
    }
    const data = Buffer.from(JSON.stringify(record) + '\n');
    try {
      writeAll(this.fd, data);
    } catch (err) {
      fs.ftruncateSync(this.fd, this.length);
      throw err;
    }
    this.length += data.length;
  }

  /** Resolves once everything appended so far is on disk. */
  durable(): Promise<void> {
    if (this.fd === null) return Promise.resolve();
    if (!this.syncing) {
      this.syncing = this.sync().finally(() => (this.syncing = null));
      return this.syncing;
    }
    // A sync is running and may have started before our append: wait for the next one.
    this.again ??= this.syncing.then(() => {
      this.again = null;
      return this.durable();
    });
    return this.again;
  }

  private sync(): Promise<void> {
    const fd = this.fd!;
    return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Renames the journal to `to` once everything appended is on disk, and
   * starts a new one at the next append: a long-lived writer (the daemon)
   * hands its records to the fold this way. False if nothing was written.
   */
  async rotate(to: string): Promise<boolean> {
    if (this.fd === null) return false;
    do await this.durable();
    while (this.syncing || this.again);
    // Synchronous from here: no append or sync can come between the close and the rename.
    this.close();
    this.length = 0;
    fs.renameSync(this.file, to);
    return true;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

export interface JournalText<T> {
  /** Complete records with the exact line each was read from (copies are told apart by their bytes). */
  records: { line: string; value: T }[];
  /** Complete lines that are not JSON objects. */
  corrupt: number;
  /** What follows the last newline: a line being written now, or torn by a crash. */
  tail: string;
}

/** Every complete record of a journal's text; torn or foreign lines are counted, not thrown. */
export function parseJournal<T>(text: string): JournalText<T> {
  const records: { line: string; value: T }[] = [];
  let corrupt = 0;
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  for (const line of lines) {
    if (!line) continue;
    try {
      const value = JSON.parse(line);
      if (value && typeof value === 'object' && !Array.isArray(value)) records.push({ line, value });
      else corrupt++;
    } catch {
      corrupt++;
    }
  }
  return { records, corrupt, tail };
}
