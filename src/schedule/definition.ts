import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { checkEnvSize, checkHandlerSize } from '../run/exec-limits.js';
import type { CatchUp, Definition, Overlap, RetryPolicy, ScheduleType } from '../model.js';
import { isValidZone, localZone, parseDuration } from '../time.js';
import { cronFields, parseCron } from './cron.js';
import { parseInterval } from './interval.js';
import { parseOnce } from './once.js';

const TYPES: ScheduleType[] = ['cron', 'interval', 'event', 'once'];
const RETRY_POLICIES: RetryPolicy[] = ['none', 'standard', 'aggressive'];
const OVERLAPS: Overlap[] = ['skip', 'queue', 'allow'];
const CATCH_UPS: CatchUp[] = ['once', 'all', 'none'];
export const EVENT_PATTERN = /^[A-Za-z0-9_*][A-Za-z0-9_.*-]*(:[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/;

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InputError(`invalid ${field} '${String(value)}': expected one of ${allowed.join(', ')}`);
}

export function parseIntIn(field: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InputError(`invalid ${field} '${String(value)}': expected a whole number from ${min} to ${max}`);
  }
  return n;
}

function percent(field: string, value: unknown): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value.trim().replace(/%$/, ''))
        : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new InputError(`invalid ${field} '${String(value)}': expected a percentage from 0 to 100`);
  return n;
}

function bool(field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'yes') return true;
  if (value === 'false' || value === 'no') return false;
  throw new InputError(`invalid ${field} '${String(value)}': expected true or false`);
}

function text(field: string, value: unknown, { empty = false } = {}): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw new InputError(`invalid ${field}: expected text`);
  const s = String(value);
  if (!empty && s.trim() === '') throw new InputError(`invalid ${field}: must not be empty`);
  if (s.includes('\0')) throw new InputError(`invalid ${field}: contains a NUL byte`);
  return s;
}

function handlerText(value: unknown): string {
  const s = text('handler', value);
  checkHandlerSize(s);
  return s;
}

function envMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const put = (k: string, v: unknown) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new InputError(`invalid env name '${k}': use letters, digits and '_'`);
    // A plain object drops it (it sets the prototype): refused rather than lost or let near a prototype.
    if (k === '__proto__') throw new InputError(`invalid env name '__proto__': reserved, choose another name`);
    out[k] = String(v ?? '');
    checkEnvSize(k, out[k]);
  };
  if (Array.isArray(value)) {
    for (const kv of value) {
      const s = String(kv);
      const i = s.indexOf('=');
      if (i <= 0) throw new InputError(`invalid env '${s}': expected K=V`);
      put(s.slice(0, i), s.slice(i + 1));
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) put(k, v);
  } else if (value !== undefined && value !== null) {
    throw new InputError(`invalid env: expected K=V pairs`);
  }
  return out;
}

function idList(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  const ids = items.map((s) => s.trim()).filter(Boolean);
  for (const id of ids) checkId(id, 'depends_on id');
  return [...new Set(ids)];
}

/** The fields of a Definition, as a stored schedule carries them. */
export const DEFINITION_KEYS: readonly (keyof Definition)[] = [
  'task_id',
  'task_name',
  'handler',
  'schedule_type',
  'schedule_expr',
  'priority',
  'enabled',
  'circuit_breaker',
  'retry_policy',
  'retries',
  'backoff',
  'timeout',
  'cpu',
  'mem',
  'tz',
  'overlap',
  'catch_up',
  'depends_on',
  'cwd',
  'env',
  'breaker_threshold',
  'breaker_cooldown',
];

/** Every field a schedule definition may carry, with the names a schedules file uses (and their aliases). */
export const DEFINITION_FIELDS = new Set<string>([
  ...DEFINITION_KEYS,
  'disabled',
  'estimated_cpu_percent',
  'estimated_memory_percent',
]);

export interface DefinitionChecks {
  /**
   * Check the time zone against the zone data and the expression in full
   * (cron field ranges, a once timestamp in its zone). The first use of Intl
   * costs tens of milliseconds, which `queue` and `trigger`
   * (which never compute a time) should not pay; without it the expression
   * is checked for form only.
   */
  timing: boolean;
}

/**
 * Validates a schedule definition from create's options, a schedules file
 * item or a stored schedule; the error names the field and the value. `base`
 * supplies defaults.
 */
export function parseDefinition(
  raw: Record<string, unknown>,
  base?: Definition,
  checks: DefinitionChecks = { timing: true },
): Definition {
  for (const k of Object.keys(raw)) {
    if (!DEFINITION_FIELDS.has(k) && !READ_ONLY_FIELDS.has(k)) throw new InputError(`unknown field '${k}'`);
  }
  const has = (k: string) => raw[k] !== undefined && raw[k] !== null;
  const pick = <T>(k: string, parse: (v: unknown) => T, dflt: T): T => (has(k) ? parse(raw[k]) : dflt);

  const task_id = checkId(raw.task_id ?? base?.task_id, 'task id');
  const schedule_type = oneOf('schedule type', raw.schedule_type ?? base?.schedule_type, TYPES);
  // The default is looked up only when needed: localZone() is a first use of Intl.
  const tz = has('tz') ? text('time zone', raw.tz) : (base?.tz ?? localZone());
  const schedule_expr = text('schedule expression', raw.schedule_expr ?? base?.schedule_expr).trim();
  if (checks.timing) checkTiming(schedule_type, schedule_expr, tz);
  else checkForm(schedule_type, schedule_expr, tz);

  let enabled = pick('enabled', (v) => bool('enabled', v), base?.enabled ?? true);
  if (has('disabled')) enabled = !bool('disabled', raw.disabled);

  const def: Definition = {
    task_id,
    task_name: pick('task_name', (v) => text('task name', v), base?.task_name ?? task_id),
    handler: handlerText(raw.handler ?? base?.handler),
    schedule_type,
    schedule_expr,
    priority: pick('priority', (v) => parseIntIn('priority', v, 1, 10), base?.priority ?? 5),
    enabled,
    circuit_breaker: pick('circuit_breaker', (v) => checkId(v, 'circuit breaker name'), base?.circuit_breaker ?? task_id),
    retry_policy: pick('retry_policy', (v) => oneOf('retry policy', v, RETRY_POLICIES), base?.retry_policy ?? 'none'),
    retries: pick('retries', (v) => parseIntIn('retries', v, 0, 100), base?.retries ?? null),
    backoff: pick('backoff', (v) => (parseDuration(v, 'backoff'), String(v)), base?.backoff ?? null),
    timeout: pick('timeout', (v) => (parseDuration(v, 'timeout'), String(v)), base?.timeout ?? null),
    cpu: pick(
      'cpu',
      (v) => percent('cpu estimate', v),
      pick('estimated_cpu_percent', (v) => percent('cpu estimate', v), base?.cpu ?? 0),
    ),
    mem: pick(
      'mem',
      (v) => percent('memory estimate', v),
      pick('estimated_memory_percent', (v) => percent('memory estimate', v), base?.mem ?? 0),
    ),
    tz,
    overlap: pick('overlap', (v) => oneOf('overlap', v, OVERLAPS), base?.overlap ?? 'skip'),
    catch_up: pick('catch_up', (v) => oneOf('catch-up', v, CATCH_UPS), base?.catch_up ?? 'once'),
    depends_on: pick('depends_on', idList, base?.depends_on ?? []),
    cwd: pick('cwd', (v) => text('cwd', v), base?.cwd ?? null),
    env: pick('env', envMap, base?.env ?? {}),
    breaker_threshold: pick(
      'breaker_threshold',
      (v) => parseIntIn('breaker threshold', v, 1, 1000),
      base?.breaker_threshold ?? 5,
    ),
    breaker_cooldown: pick(
      'breaker_cooldown',
      (v) => {
        const ms = parseDuration(v, 'breaker cooldown');
        if (ms > 7 * 86_400_000) throw new InputError(`invalid breaker cooldown '${String(v)}': at most 7 days`);
        return String(v);
      },
      base?.breaker_cooldown ?? '5m',
    ),
  };
  if (def.depends_on.includes(task_id)) throw new InputError(`invalid depends_on: '${task_id}' cannot depend on itself`);
  return def;
}

/** Fields `get --json` prints that a schedules file may carry back unchanged; ignored on input. */
const READ_ONLY_FIELDS = new Set([
  'format',
  'created_at',
  'updated_at',
  'last_executed',
  'next_execution',
  'execution_count',
  'failure_count',
  'average_duration_ms',
  'breaker_state',
  'measured_cpu_percent',
  'measured_memory_mb',
  'description',
  'once_fired',
  'max_attempts',
]);

// A daemon reads every schedule every second: each distinct (type, expression, zone) is checked once.
const timingChecked = new Map<string, string | null>();

/** The zone and the expression in full; remembered, since the answer never changes. */
function checkTiming(type: ScheduleType, expr: string, tz: string): void {
  const key = `${type}\0${expr}\0${tz}`;
  let why = timingChecked.get(key);
  if (why === undefined) {
    try {
      if (!isValidZone(tz)) throw new InputError(`invalid time zone '${tz}': expected an IANA name such as Europe/Berlin`);
      checkExpression(type, expr, tz);
      why = null;
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      why = err.message;
    }
    if (timingChecked.size >= 10_000) timingChecked.clear();
    timingChecked.set(key, why);
  }
  if (why !== null) throw new InputError(why);
}

/** What can be checked without zone data: the form of the zone name and the expression. */
function checkForm(type: ScheduleType, expr: string, tz: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_+/-]*$/.test(tz))
    throw new InputError(`invalid time zone '${tz}': expected an IANA name such as Europe/Berlin`);
  if (type === 'cron') cronFields(expr);
  else if (type !== 'once') checkExpression(type, expr, 'UTC');
}

function checkExpression(type: ScheduleType, expr: string, tz: string): void {
  switch (type) {
    case 'cron':
      parseCron(expr);
      return;
    case 'interval':
      parseInterval(expr);
      return;
    case 'once':
      parseOnce(expr, tz);
      return;
    case 'event':
      if (!EVENT_PATTERN.test(expr)) {
        throw new InputError(`invalid event name '${expr}': use letters, digits, '.', '_', '-', '*' and an optional ':task-id'`);
      }
  }
}
