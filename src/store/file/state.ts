import * as fs from 'node:fs';
import * as path from 'node:path';
import { APPEND_FLAGS, exists, readText, rmQuiet, writeAll, writeAtomic, writeJsonAtomic } from '../atomic.js';
import { pidFileIn } from '../policy.js';
import type { EventRecord, StateStore } from '../roles.js';
import type { FileHome } from './home.js';

/** state/: paused, <name>.json documents, events.jsonl, daemon.pid. */
export function fileState(h: FileHome): StateStore {
  const statePath = (name: string) => path.join(h.dir('state'), name);
  return {
    isPaused(): boolean {
      return exists(statePath('paused'));
    },

    setPaused(paused: boolean, at: string): void {
      if (paused) writeAtomic(statePath('paused'), at + '\n');
      else rmQuiet(statePath('paused'));
    },

    readState<T>(name: string): T | null {
      return h.readJson<T>(statePath(`${name}.json`), () => null);
    },

    writeState(name: string, value: unknown): void {
      writeJsonAtomic(statePath(`${name}.json`), value);
    },

    appendEvent(rec: EventRecord): void {
      const fd = fs.openSync(statePath('events.jsonl'), APPEND_FLAGS, 0o600);
      try {
        writeAll(fd, Buffer.from(JSON.stringify(rec) + '\n'));
      } finally {
        fs.closeSync(fd);
      }
    },

    listEvents(limit: number): EventRecord[] {
      const text = readText(statePath('events.jsonl')) ?? '';
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
    },

    pidFile(): string {
      return pidFileIn(h.home);
    },
  };
}
