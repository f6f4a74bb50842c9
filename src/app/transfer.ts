import type { Context } from '../context.js';
import { InputError, RunError } from '../errors.js';
import { ID_PATTERN } from '../ids.js';
import { deadLetterProblem, entryProblem, scheduleProblem } from '../store/check.js';
import type { DeadLetter, Entry, Execution, Schedule } from '../model.js';
import { writeAtomic } from '../store/atomic.js';
import type { BreakerRecord } from '../store/store.js';
import { strictUtf8 } from '../text.js';
import { isoInZone } from '../time.js';

/**
 * What `export` writes and `import` reads: every record a store keeps that
 * matters beyond one process (schedules, queue, history with its output,
 * dead letters, breakers), as plain JSON, the same from either store.
 */
export interface Dump {
  conductor_export: 1;
  exported_at: string;
  source: string;
  paused: boolean;
  schedules: Schedule[];
  queue: Entry[];
  /** Output that is not UTF-8 is in base64, with `output_encoding: "base64"`, so that every byte survives. */
  executions: (Execution & { output: string; output_encoding?: 'base64' })[];
  dlq: DeadLetter[];
  breakers: BreakerRecord[];
}

export async function exportState(ctx: Context): Promise<Dump> {
  const { store } = ctx;
  const running = await store.listRunning();
  // A running entry belongs to a live dispatcher; copying it would run it twice or lose it.
  if (running.length) {
    throw new RunError(
      `${running.length} entr${running.length === 1 ? 'y is' : 'ies are'} running; pause and let them finish before exporting`,
    );
  }
  const executions: Dump['executions'] = [];
  for (const x of (await store.listExecutions()).reverse()) executions.push({ ...x, ...outputField(await store.readLog(x)) });
  const queue: Entry[] = [];
  for (const ref of await store.listQueued()) {
    const e = await store.readQueued(ref);
    if (e) queue.push(e);
  }
  queue.sort((a, b) => (a.entry_id < b.entry_id ? -1 : 1));
  return {
    conductor_export: 1,
    exported_at: isoInZone(ctx.clock()),
    source: `${store.kind}:${store.location}`,
    paused: await store.isPaused(),
    schedules: await store.listSchedules(),
    queue,
    executions,
    dlq: await store.listDlq(),
    breakers: await store.listBreakers(),
  };
}

/** What `export --output FILE --json` prints once the dump is written. */
export interface ExportSummary {
  output: string;
  schedules: number;
  queued: number;
  executions: number;
  dlq: number;
  breakers: number;
}

export function exportSummary(d: Dump, output: string): ExportSummary {
  return {
    output,
    schedules: d.schedules.length,
    queued: d.queue.length,
    executions: d.executions.length,
    dlq: d.dlq.length,
    breakers: d.breakers.length,
  };
}

/** Captured output as JSON text: as it is when it is UTF-8, else base64 with its encoding named. */
export function outputField(bytes: Buffer): { output: string; output_encoding?: 'base64' } {
  const text = strictUtf8(bytes);
  return text === null ? { output: bytes.toString('base64'), output_encoding: 'base64' } : { output: text };
}

function outputBytes(x: { output?: unknown; output_encoding?: unknown }): Buffer {
  if (typeof x.output !== 'string') return Buffer.alloc(0);
  return x.output_encoding === 'base64' ? Buffer.from(x.output, 'base64') : Buffer.from(x.output);
}

const isObj = (v: unknown): v is Record<string, any> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
const isId = (v: unknown) => typeof v === 'string' && ID_PATTERN.test(v);

/** Checks the whole document before anything is written; throws naming the first problem. */
export function parseDump(text: string, source: string): Dump {
  let d: any;
  try {
    d = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(d) || d.conductor_export !== 1) throw new InputError(`${source}: not a conductor export (no "conductor_export": 1)`);
  // `problem` answers why an item cannot be used, or null: the same checks as a read of the store.
  const list = (key: string, problem: (v: any) => string | null, what: string) => {
    const arr = d[key] ?? [];
    if (!Array.isArray(arr)) throw new InputError(`${source}: "${key}" is not a list`);
    arr.forEach((v: unknown, i: number) => {
      const why = isObj(v) ? problem(v) : 'not a JSON object';
      if (why) throw new InputError(`${source}: ${key}[${i}] is not a valid ${what}: ${why}`);
    });
    d[key] = arr;
  };
  const unless = (ok: boolean) => (ok ? null : 'a field is missing or invalid');
  list('schedules', (s) => (isId(s.task_id) ? scheduleProblem(s, s.task_id, 'task id') : 'invalid task_id'), 'schedule');
  list('queue', entryProblem, 'queue entry');
  list(
    'executions',
    (x) =>
      unless(
        isId(x.execution_id) &&
          isId(x.task_id) &&
          typeof x.status === 'string' &&
          !Number.isNaN(Date.parse(x.started_at)) &&
          !Number.isNaN(Date.parse(x.finished_at)) &&
          (x.output_encoding === undefined ||
            (x.output_encoding === 'base64' && typeof x.output === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(x.output))),
      ),
    'execution',
  );
  list('dlq', deadLetterProblem, 'dead letter');
  list('breakers', (b) => unless(isId(b.name) && ['closed', 'open', 'half-open'].includes(b.state)), 'breaker');
  return d as Dump;
}

export interface ImportResult {
  schedules: number;
  queued: number;
  executions: number;
  executions_present: number;
  dlq: number;
  breakers: number;
}

/**
 * Loads a dump into the context's store. Every conflict is found before the
 * first write (an id already there), so a refused import changes nothing;
 * executions already present are left as they are, so history can be
 * imported again without doubling.
 */
/**
 * History in one go: the ids already present are read once (asking per record read all history
 * per record: 100,000 records took over half an hour), and the records are written together, so
 * they share the journal's syncs.
 */
async function importExecutions(store: Context['store'], executions: Dump['executions'], res: ImportResult): Promise<void> {
  const present = new Set((await store.listExecutions()).map((x) => x.execution_id));
  const writes: Promise<void>[] = [];
  for (const x of executions) {
    if (present.has(x.execution_id)) {
      res.executions_present++;
      continue;
    }
    present.add(x.execution_id);
    const { output: _output, output_encoding: _encoding, ...rest } = x;
    const bytes = outputBytes(x);
    const log = bytes.length ? store.logPath(x.execution_id) : null;
    if (log) writeAtomic(log, bytes);
    writes.push(store.recordExecution({ ...rest, log }));
    res.executions++;
  }
  await Promise.all(writes);
}

export async function importState(ctx: Context, d: Dump): Promise<ImportResult> {
  const { store } = ctx;
  for (const s of d.schedules)
    if (await store.scheduleExists(s.task_id))
      throw new InputError(`task id '${s.task_id}' already exists in the target store; nothing imported`);
  for (const e of d.queue)
    if (await store.entryIsLive(e.entry_id))
      throw new InputError(`entry id '${e.entry_id}' already exists in the target store; nothing imported`);
  for (const e of d.dlq)
    if (await store.entryIsLive(e.entry_id))
      throw new InputError(`dead letter '${e.entry_id}' already exists in the target store; nothing imported`);
  const res: ImportResult = { schedules: 0, queued: 0, executions: 0, executions_present: 0, dlq: 0, breakers: 0 };
  for (const s of d.schedules) if (await store.createSchedule(s)) res.schedules++;
  for (const b of d.breakers) {
    await store.updateBreaker(b.name, () => b);
    res.breakers++;
  }
  await importExecutions(store, d.executions, res);
  for (const e of d.dlq) {
    await store.toDlq(e);
    res.dlq++;
  }
  // One batch (a statement per few thousand on PostgreSQL): the ids were checked free above.
  await store.enqueueAll(d.queue.map((e) => ({ ...e, status: 'queued' as const })));
  res.queued = d.queue.length;
  if (d.paused) await store.setPaused(true, d.exported_at);
  return res;
}
