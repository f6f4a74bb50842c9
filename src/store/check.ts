import { InputError } from '../errors.js';
import { checkEventName } from '../events/match.js';
import { ID_PATTERN } from '../ids.js';
import { FORMAT, type Definition } from '../model.js';
import { DEFINITION_KEYS, parseDefinition } from '../schedule/definition.js';
import { SCOPES } from './roles.js';

/**
 * The one check of every record conductor keeps, wherever it comes from: a
 * file, a row, an import document. A schedule's definition is checked by
 * parseDefinition, the check of create and apply, and must be stored in the
 * form that returns; what only conductor writes (times, counters, queue
 * entries, dead letters) by the rules below. Each function answers why a
 * record cannot be used, or null; both stores quarantine what fails.
 */

/** 'light': the zone and the cron fields are checked for form only (see DefinitionChecks). */
export type Checks = 'full' | 'light';

type Rule = readonly [field: string, ok: (v: any) => boolean, expected: string];

const isObj = (v: unknown): v is Record<string, any> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
const isId = (v: unknown) => typeof v === 'string' && ID_PATTERN.test(v);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const isIso = (v: unknown) => typeof v === 'string' && ISO.test(v) && !Number.isNaN(Date.parse(v));
const int =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: unknown) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const num =
  (min: number, max = Infinity) =>
  (v: unknown) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
const orNull = (ok: (v: unknown) => boolean) => (v: unknown) => v === null || ok(v);
const optional = (ok: (v: unknown) => boolean) => (v: unknown) => v === undefined || ok(v);
const isText = (v: unknown) => typeof v === 'string';
const oneOf =
  (...allowed: unknown[]) =>
  (v: unknown) =>
    allowed.includes(v);

const TIME = 'an ISO-8601 time';
const TIME_OR_NULL = `null or ${TIME}`;

const ENTRY_RULES: Rule[] = [
  ['entry_id', isId, 'an id'],
  ['task_id', isId, 'a task id'],
  ['priority', int(1, 10), 'a whole number from 1 to 10'],
  ['enqueued_at', isIso, TIME],
  ['estimated_cpu_percent', num(0, 100), 'a percentage'],
  ['estimated_memory_percent', num(0, 100), 'a percentage'],
  ['status', oneOf('queued', 'running'), 'queued or running'],
  ['attempt', int(1), 'a whole number from 1'],
  ['max_attempts', int(1), 'a whole number from 1'],
  ['runs', int(0), 'a whole number from 0'],
  ['not_before', orNull(isIso), TIME_OR_NULL],
  ['source', oneOf('manual', 'schedule', 'event', 'retry', 'dlq-retry'), 'manual, schedule, event, retry or dlq-retry'],
  ['scheduled_for', orNull(isIso), TIME_OR_NULL],
  ['event', orNull(isText), 'null or an event name'],
  ['payload', orNull(isText), 'null or text'],
  ['event_depth', int(0), 'a whole number from 0'],
  ['group', orNull(isId), 'null or an entry id'],
  ['after', (v) => Array.isArray(v) && v.every(isId), 'a list of entry ids'],
  ['last_error', optional(orNull(isText)), 'null or text'],
  ['last_exit_code', optional(orNull(Number.isInteger)), 'null or a whole number'],
  ['execution_id', optional(isText), 'an execution id'],
  ['started_at', optional(isIso), TIME],
];

const DEAD_LETTER_RULES: Rule[] = [
  ['dead_at', isIso, TIME],
  ['last_exit_code', orNull(Number.isInteger), 'null or a whole number'],
  ['last_error', orNull(isText), 'null or text'],
  ['log_tail', isText, 'text'],
];

/** What a schedule carries beyond its definition: written by conductor alone. */
const STORED_RULES: Rule[] = [
  ['created_at', isIso, TIME],
  ['updated_at', isIso, TIME],
  ['last_executed', orNull(isIso), TIME_OR_NULL],
  ['next_execution', orNull(isIso), TIME_OR_NULL],
  ['execution_count', int(0), 'a whole number from 0'],
  ['failure_count', int(0), 'a whole number from 0'],
  ['average_duration_ms', num(0), 'a number from 0'],
  ['measured_cpu_percent', orNull(num(0)), 'null or a number from 0'],
  ['measured_memory_mb', orNull(num(0)), 'null or a number from 0'],
  ['once_fired', optional(oneOf(true, false)), 'true or false'],
  ['incarnation', optional(isId), 'an id'],
];

const PENDING_REF_RULES: Rule[] = [
  ['entry_id', isId, 'an entry id'],
  ['scheduled_for', isIso, TIME],
];

/** Definition fields a stored schedule may leave out: absent means null. */
const NULLABLE = new Set<string>(['retries', 'backoff', 'timeout', 'cwd']);

function show(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function broken(v: unknown, rules: Rule[]): string | null {
  if (!isObj(v)) return 'not a JSON object';
  for (const [field, ok, expected] of rules) {
    if (!ok(v[field])) return `${field} is ${show(v[field])}, expected ${expected}`;
  }
  return null;
}

function formatProblem(v: Record<string, any>): string | null {
  if (typeof v.format !== 'number') return 'no format version';
  if (v.format > FORMAT) return `format ${v.format} is newer than this conductor understands (${FORMAT})`;
  return null;
}

/** Deep equality of two JSON values, whatever the order of keys (jsonb reorders them). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as any)[k], (b as any)[k]));
}

/** The definition part, by create's own check; a value create would have stored differently is refused too. */
function definitionProblem(v: Record<string, any>, checks: Checks): string | null {
  const raw: Record<string, unknown> = {};
  for (const k of DEFINITION_KEYS) {
    if (v[k] === undefined && !NULLABLE.has(k)) return `${k} missing`;
    raw[k] = v[k];
  }
  let def: Definition;
  try {
    def = parseDefinition(raw, undefined, { timing: checks === 'full' });
  } catch (err) {
    if (err instanceof InputError) return err.message;
    throw err;
  }
  for (const k of DEFINITION_KEYS) {
    if (!sameJson(def[k], v[k] ?? null)) return `invalid ${k} ${show(v[k])}: create stores ${show(def[k])}`;
  }
  return null;
}

/**
 * Why a stored schedule cannot be used, or null. `key` is what the document
 * is stored under (its file name or row key).
 */
export function scheduleProblem(v: unknown, key: string, keyName: string, checks: Checks = 'full'): string | null {
  if (!isObj(v)) return 'not a JSON object';
  const why = formatProblem(v);
  if (why) return why;
  if (v.task_id !== key) return `task_id does not match the ${keyName}`;
  return definitionProblem(v, checks) ?? broken(v, STORED_RULES) ?? pendingProblem(v.pending);
}

/**
 * `pending`: the runs a promotion is about to queue. Its shape is changing
 * (references to entries now, whole entries perhaps soon); both pass.
 */
export function pendingProblem(p: unknown): string | null {
  if (p === null || p === undefined) return null;
  if (!Array.isArray(p)) return `pending is ${show(p)}, expected null or a list`;
  for (let i = 0; i < p.length; i++) {
    const item = p[i];
    const why = isObj(item) && 'format' in item ? entryProblem(item) : broken(item, PENDING_REF_RULES);
    if (why) return `pending[${i}]: ${why}`;
  }
  return null;
}

/** Why a queue entry (queued or running) cannot be used, or null. */
export function entryProblem(v: unknown): string | null {
  if (!isObj(v)) return 'not a JSON object';
  return formatProblem(v) ?? broken(v, ENTRY_RULES);
}

export function deadLetterProblem(v: unknown): string | null {
  return entryProblem(v) ?? broken(v, DEAD_LETTER_RULES);
}

/**
 * Why an entry or dead letter stored under a key (a file name, a row key)
 * cannot be used: its own check, then whether the key names it.
 */
export function storedEntryProblem(
  v: unknown,
  keyNames: (entryId: string) => boolean,
  keyName: string,
  problem: (v: unknown) => string | null = entryProblem,
): string | null {
  return problem(v) ?? (keyNames((v as Record<string, any>).entry_id) ? null : `entry_id does not match the ${keyName}`);
}

/** Why a stored circuit breaker cannot be used, or null. */
export function breakerProblem(v: unknown): string | null {
  if (!isObj(v)) return 'not a JSON object';
  return typeof v.state === 'string' ? null : 'not a breaker record';
}

/** `sha256:` and the hex SHA-256 of a token's secret (app/tokens.ts). */
export const TOKEN_HASH = /^sha256:[0-9a-f]{64}$/;
/** `whsec_` and 32 random bytes in base64url (app/hooks.ts). */
export const HOOK_SECRET = /^whsec_[A-Za-z0-9_-]{43}$/;

const TOKEN_RULES: Rule[] = [
  ['name', isId, 'a token name'],
  ['scope', oneOf(...SCOPES), SCOPES.join(', ')],
  ['hash', (v) => typeof v === 'string' && TOKEN_HASH.test(v), "'sha256:' and 64 hex digits"],
  ['created_at', isIso, TIME],
  ['expires_at', orNull(isIso), TIME_OR_NULL],
];

const HOOK_RULES: Rule[] = [
  ['name', isId, 'a hook name'],
  ['event', (v) => typeof v === 'string' && checkEventName(v) === null, 'an event name'],
  ['secret', (v) => typeof v === 'string' && HOOK_SECRET.test(v), "'whsec_' and 43 base64url characters"],
  ['created_at', isIso, TIME],
];

/** Why a stored record of access/ (a token or a hook) cannot be used, or null; `key` is what it is stored under. */
function accessProblem(v: unknown, rules: Rule[], key: string, keyName: string): string | null {
  if (!isObj(v)) return 'not a JSON object';
  const why = formatProblem(v) ?? broken(v, rules);
  if (why) return why;
  return v.name === key ? null : `name does not match the ${keyName}`;
}

export function tokenProblem(v: unknown, key: string, keyName: string): string | null {
  return accessProblem(v, TOKEN_RULES, key, keyName);
}

export function hookProblem(v: unknown, key: string, keyName: string): string | null {
  return accessProblem(v, HOOK_RULES, key, keyName);
}
