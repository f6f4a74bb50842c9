import * as fs from 'node:fs';
import type { Node } from 'yaml';
import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import type { Definition, Schedule } from '../model.js';
import { DEFINITION_KEYS, parseDefinition } from '../schedule/definition.js';
import { firstRun } from '../schedule/next.js';
import { isoInZone, isoOrNull } from '../time.js';
import { invalidUtf8At, strictUtf8 } from '../text.js';
import { checkDependencyGraph, checkEstimates, CREATE_LOCK, newSchedule } from './schedules.js';

export interface FileProblem {
  line: number | null;
  message: string;
}

export interface ParsedFile {
  definitions: Definition[];
  problems: FileProblem[];
}

/** Reads and parses a schedules file named on the command line (see parseScheduleFile). */
export function readScheduleFile(file: string): ParsedFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseScheduleFile(bytes);
}

/**
 * Parses a schedules file (YAML, or JSON, which is YAML too): a list of
 * schedules or a mapping with the list under `schedules:`. Every item is
 * validated; each problem carries the line of its item. Takes the bytes so
 * that a file uploaded over HTTP is read exactly as one on disk.
 */
export function parseScheduleFile(bytes: Buffer): ParsedFile {
  // A lossy decode would store U+FFFD in place of the bytes without a word.
  const text = strictUtf8(bytes);
  if (text === null) {
    const at = invalidUtf8At(bytes);
    const line = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
    return { definitions: [], problems: [{ line, message: `not valid UTF-8 (byte ${at}): save the file as UTF-8` }] };
  }
  const { LineCounter, parseDocument, isMap, isSeq } = require('yaml') as typeof import('yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: FileProblem[] = [];
  if (doc.errors.length) {
    for (const e of doc.errors) problems.push({ line: lines.linePos(e.pos[0]).line, message: e.message.split('\n')[0] });
    return { definitions: [], problems };
  }
  let seq: Node | null | undefined = doc.contents as Node | null;
  if (isMap(seq)) seq = seq.get('schedules', true) as Node | undefined;
  if (!isSeq(seq)) {
    return {
      definitions: [],
      problems: [{ line: 1, message: 'expected a list of schedules, or a mapping with the list under schedules:' }],
    };
  }
  const definitions: Definition[] = [];
  const seen = new Map<string, number>();
  for (const item of seq.items) {
    const line = (item as Node).range ? lines.linePos((item as Node).range![0]).line : null;
    const raw = (item as Node & { toJSON(): unknown }).toJSON?.() ?? item;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ line, message: 'each schedule must be a mapping of fields' });
      continue;
    }
    try {
      const def = parseDefinition(raw as Record<string, unknown>);
      checkEstimates(def);
      const prev = seen.get(def.task_id);
      if (prev !== undefined) throw new InputError(`duplicate task id '${def.task_id}' (first at line ${prev})`);
      seen.set(def.task_id, line ?? 0);
      definitions.push(def);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      const id = (raw as Record<string, unknown>).task_id;
      problems.push({ line, message: `${typeof id === 'string' ? `${id}: ` : ''}${err.message}` });
    }
  }
  return { definitions, problems };
}

export interface Change {
  op: '+' | '~' | '-';
  task_id: string;
  fields?: string[];
}

/** What `apply` compares: every field of a definition but the id it is found by. */
const DEF_KEYS = DEFINITION_KEYS.filter((k) => k !== 'task_id');
const TIMING: (keyof Definition)[] = ['schedule_type', 'schedule_expr', 'tz', 'enabled'];

function changedFields(cur: Schedule, def: Definition): string[] {
  return DEF_KEYS.filter((k) => JSON.stringify(cur[k] ?? null) !== JSON.stringify(def[k] ?? null));
}

/** What applying would do; throws (changing nothing) on a dependency problem. */
export async function planApply(ctx: Context, defs: Definition[], prune: boolean): Promise<Change[]> {
  const existing = new Map((await ctx.store.listSchedules()).map((s) => [s.task_id, s]));
  const inFile = new Set(defs.map((d) => d.task_id));
  const graph = new Map<string, string[]>();
  for (const [id, s] of existing) if (!prune || inFile.has(id)) graph.set(id, s.depends_on ?? []);
  for (const d of defs) graph.set(d.task_id, d.depends_on);
  checkDependencyGraph(graph);
  const changes: Change[] = [];
  for (const d of defs) {
    const cur = existing.get(d.task_id);
    if (!cur) changes.push({ op: '+', task_id: d.task_id });
    else {
      const fields = changedFields(cur, d);
      if (fields.length) changes.push({ op: '~', task_id: d.task_id, fields });
    }
  }
  if (prune) for (const id of existing.keys()) if (!inFile.has(id)) changes.push({ op: '-', task_id: id });
  return changes;
}

/**
 * Applies a plan under the lock every creation of schedules holds: the new
 * schedules are created together first (one taken meanwhile refuses the whole
 * apply before anything changed), then updates and deletions.
 */
export async function applyPlan(ctx: Context, defs: Definition[], changes: Change[]): Promise<void> {
  const byId = new Map(defs.map((d) => [d.task_id, d]));
  await ctx.store.withLock(CREATE_LOCK, async () => {
    const now = ctx.clock();
    const created = changes.filter((c) => c.op === '+').map((c) => newSchedule(byId.get(c.task_id)!, now));
    if (created.length && !(await ctx.store.createSchedules(created))) {
      const taken: string[] = [];
      for (const s of created) if (await ctx.store.scheduleExists(s.task_id)) taken.push(s.task_id);
      throw new InputError(`task id '${taken[0] ?? created[0].task_id}' was created meanwhile; nothing applied, run apply again`);
    }
    for (const c of changes) {
      if (c.op === '~') await updateFromDefinition(ctx, byId.get(c.task_id)!, c.fields!, now);
      else if (c.op === '-') await ctx.store.deleteSchedule(c.task_id);
    }
  });
}

async function updateFromDefinition(ctx: Context, def: Definition, fields: string[], now: number): Promise<void> {
  await ctx.store.updateSchedule(def.task_id, (cur) => {
    const retime = TIMING.some((k) => fields.includes(k));
    return {
      ...cur,
      ...def,
      updated_at: isoInZone(now),
      next_execution: retime
        ? isoOrNull(
            firstRun(def, now, cur.schedule_type === 'once' && def.schedule_expr === cur.schedule_expr && cur.once_fired),
            def.tz,
          )
        : cur.next_execution,
      once_fired: retime && def.schedule_expr !== cur.schedule_expr ? false : cur.once_fired,
    };
  });
}

/** What `validate --json` prints. */
export interface ValidateDocument {
  file: string;
  valid: boolean;
  schedules: number;
  problems: FileProblem[];
}

/** Checks a parsed schedules file without the store: its dependencies must resolve within the file itself. */
export function validateSchedules(source: string, parsed: ParsedFile): ValidateDocument {
  const problems = [...parsed.problems];
  if (problems.length === 0) {
    try {
      checkDependencyGraph(new Map(parsed.definitions.map((d) => [d.task_id, d.depends_on])));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push({ line: null, message: err.message });
    }
  }
  return { file: source, valid: problems.length === 0, schedules: parsed.definitions.length, problems };
}

/** The one error a file with problems is refused with: the first, and how many more. */
export function problemsError(source: string, problems: FileProblem[]): InputError {
  const p = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems); nothing applied` : '; nothing applied';
  return new InputError(`${source}:${p.line ?? '?'}: ${p.message}${more}`);
}

/** What `apply --json` prints. */
export interface ApplyDocument {
  dry_run: boolean;
  changes: Change[];
}

/** Makes the schedules match a parsed file, all or nothing; a dry run only plans. */
export async function applySchedules(
  ctx: Context,
  source: string,
  parsed: ParsedFile,
  o: { prune: boolean; dryRun: boolean },
): Promise<ApplyDocument> {
  if (parsed.problems.length) throw problemsError(source, parsed.problems);
  const changes = await planApply(ctx, parsed.definitions, o.prune);
  if (!o.dryRun) await applyPlan(ctx, parsed.definitions, changes);
  return { dry_run: o.dryRun, changes };
}
