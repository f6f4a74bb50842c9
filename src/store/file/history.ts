import * as path from 'node:path';
import { messageOf } from '../../errors.js';
import { checkId } from '../../ids.js';
import type { Execution } from '../../model.js';
import { tokenAlive, selfIdentity } from '../../run/proc.js';
import { listNames, readBytes, readText } from '../atomic.js';
import { logPathIn, reportProblem, runFileIn } from '../policy.js';
import { runtimeDirFor } from '../runtime-dir.js';
import type { HistoryStore, RetentionStore } from '../roles.js';
import type { FileHome } from './home.js';
import { historyWriter, ROTATED } from './fold.js';
import { Journal, parseJournal } from './journal.js';
import { mergeTallies, tallyOf, type HistoryTally } from '../tally.js';
import { readPrunedTally } from './pruned-tally.js';

/**
 * history/: every process appends its execution records to a journal of its
 * own (`<owner>.jsonl`: one writer per file is what keeps its framing
 * exact); journals of finished dispatchers are folded into one archive per
 * month (fold.ts). logs/<execution_id>.log: captured output.
 */
export function fileHistory(
  h: FileHome,
): HistoryStore & Pick<RetentionStore, 'rotateHistory'> & { executionExists(id: string): boolean } {
  let journal: Journal | null = null;
  const ownJournal = (): Journal => {
    if (!journal) {
      journal = new Journal(path.join(h.dir('history'), `${h.journalOwner ?? selfIdentity().token}.jsonl`));
      h.journalStarted = true;
    }
    return journal;
  };

  const getExecution = (executionId: string): Execution | null => {
    checkId(executionId, 'execution id');
    const needle = `"execution_id":"${executionId}"`;
    for (const { text } of historyTexts(h)) {
      if (!text.includes(needle)) continue;
      const found = parseJournal<Execution>(text).records.find((r) => r.value.execution_id === executionId);
      if (found) return found.value;
    }
    return null;
  };

  const runtime = () => runtimeDirFor(h.home);
  return {
    getExecution,

    /** The daemon's journal, closed and named finished (`rotated~...`): the next fold takes it. */
    async rotateHistory(): Promise<void> {
      if (!journal) return;
      const owner = path.basename(journal.file, '.jsonl');
      await journal.rotate(path.join(h.dir('history'), `${ROTATED}${owner}~${Date.now()}.jsonl`));
    },

    /** Appends an execution record and waits until it is on disk (records of one moment share an fsync). */
    async recordExecution(x: Execution): Promise<void> {
      const j = ownJournal();
      j.append(x);
      await j.durable();
    },

    executionExists(executionId: string): boolean {
      return getExecution(executionId) !== null;
    },

    /** Executions, newest first. */
    listExecutions(filter: { taskId?: string; limit?: number } = {}): Execution[] {
      const out = allExecutions(h).filter((x) => !filter.taskId || x.task_id === filter.taskId);
      out.sort(newestFirst);
      return filter.limit ? out.slice(0, filter.limit) : out;
    },

    /**
     * Records first, then what prune kept: in this order one prune between the two reads counts
     * nothing twice or not at all (its records are pending). Two prunes could: then read again.
     */
    historyTally(): HistoryTally {
      for (let attempt = 0; ; attempt++) {
        const before = readPrunedTally(h);
        const records = allExecutions(h);
        const pruned = readPrunedTally(h);
        if (attempt < 5 && JSON.stringify(before) !== JSON.stringify(pruned)) continue;
        const pending = new Set(pruned.pending);
        return mergeTallies(tallyOf(records.filter((x) => !pending.has(x.execution_id))), pruned);
      }
    },

    logPath(executionId: string): string {
      return logPathIn(h.home, executionId);
    },

    runFilePath(executionId: string): string {
      return runFileIn(runtime(), executionId);
    },

    runFilesDir: () => runtime(),

    readLog(x: Execution): Buffer {
      return (x.log && readBytes(x.log)) || Buffer.alloc(0);
    },
  };
}

/** The order of `history`: started, then finished, then id, newest first (`prune --keep` counts in it too). */
export function newestFirst(a: Execution, b: Execution): number {
  return (
    Date.parse(b.started_at) - Date.parse(a.started_at) ||
    b.finished_at.localeCompare(a.finished_at) ||
    (b.execution_id < a.execution_id ? -1 : 1)
  );
}

function journals(h: FileHome): string[] {
  return listNames(h.dir('history'))
    .filter((n) => n.endsWith('.jsonl'))
    .map((n) => path.join(h.dir('history'), n));
}

/**
 * The text of every history file as of one moment. A fold moves records
 * from a journal (renamed, then deleted) into the archive while we read:
 * when a file we listed is gone, its records may be in the archive we read
 * before, so everything is read again. A record then seen in both places
 * is a byte-identical copy, counted once.
 */
function historyTexts(h: FileHome): { file: string; text: string }[] {
  for (let attempt = 0; ; attempt++) {
    const out: { file: string; text: string }[] = [];
    let vanished = false;
    for (const file of journals(h)) {
      let text: string | null;
      try {
        text = readText(file);
      } catch (err) {
        // A link or a device planted in history/: never read through, set aside.
        h.quarantine(file, `not a history file conductor can read (${(err as NodeJS.ErrnoException).code ?? messageOf(err)})`);
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
function allExecutions(h: FileHome): Execution[] {
  const seen = new Map<string, string[]>();
  const out: Execution[] = [];
  for (const { file, text } of historyTexts(h)) {
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
    reportDamage(h, file, j.corrupt + foreign, j.tail);
  }
  for (const [id, copies] of seen) {
    if (copies.length > 1)
      reportProblem(
        h.problems,
        'history',
        `execution ${id} has ${copies.length} different records (did it run twice?); all are shown`,
        null,
      );
  }
  return out;
}

/** Lines of a history file that are not records are reported, never silently dropped. */
function reportDamage(h: FileHome, file: string, corrupt: number, tail: string): void {
  const rel = path.relative(h.home, file);
  if (corrupt) reportProblem(h.problems, rel, `${corrupt} line(s) that are not execution records`, null);
  // The last line of a journal whose writer lives may be being written right now.
  const writer = historyWriter(path.basename(file));
  if (tail && !(writer && tokenAlive(writer))) {
    reportProblem(
      h.problems,
      rel,
      `torn last line (${Buffer.byteLength(tail)} bytes without a newline; the next fold sets it aside)`,
      null,
    );
  }
}
