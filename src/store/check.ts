import { FORMAT } from '../model.js';

const SCHEDULE_TYPES = new Set(['cron', 'interval', 'event', 'once']);

/**
 * Why a stored document is not a schedule this conductor can use, or null.
 * One rule for every place a schedule comes from: a file, a row, an import.
 * `key` is what the document is stored under (its file name or row key).
 */
export function scheduleProblem(v: any, key: string, keyName: string): string | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  if (typeof v.format !== 'number') return 'no format version';
  if (v.format > FORMAT) return `format ${v.format} is newer than this conductor understands (${FORMAT})`;
  if (typeof v.task_id !== 'string' || v.task_id !== key) return `task_id does not match the ${keyName}`;
  if (typeof v.handler !== 'string' || !SCHEDULE_TYPES.has(v.schedule_type)) return 'not a schedule (handler or schedule_type missing)';
  if (typeof v.priority !== 'number') return 'priority missing';
  return null;
}
