import { InputError } from '../errors.js';
import { instantInRange } from '../time.js';
import { instantsOfWallTime } from './cron.js';

/**
 * An ISO-8601 timestamp. With an offset or Z it is that instant; without one
 * it is a wall time in the schedule's zone (in a gap: the gap's end).
 */
export function parseOnce(expr: string, tz: string): number {
  const t = parseOnceInstant(expr, tz);
  // Date maps years 0-99 to 1900-1999, and past 9999 nothing prints as ISO-8601 any more.
  if (!instantInRange(t)) throw new InputError(`invalid once timestamp '${expr}': must lie in the years 1970 to 9999 (UTC)`);
  return t;
}

function parseOnceInstant(expr: string, tz: string): number {
  const s = expr.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  if (!m) throw new InputError(`invalid once timestamp '${expr}': expected ISO-8601, e.g. 2026-12-24T18:00:00+01:00`);
  const [, y, mo, d, h = '00', mi = '00', sec = '00', zone] = m;
  const nums = [y, mo, d, h, mi, sec].map(Number);
  if (nums[0] < 1970) throw new InputError(`invalid once timestamp '${expr}': must lie in the years 1970 to 9999 (UTC)`);
  const probe = new Date(Date.UTC(nums[0], nums[1] - 1, nums[2], nums[3], nums[4], nums[5]));
  if (probe.getUTCMonth() !== nums[1] - 1 || probe.getUTCDate() !== nums[2] || nums[3] > 23 || nums[4] > 59 || nums[5] > 59) {
    throw new InputError(`invalid once timestamp '${expr}': no such date or time`);
  }
  if (zone) {
    const t = Date.parse(s.replace(' ', 'T'));
    if (Number.isNaN(t)) throw new InputError(`invalid once timestamp '${expr}'`);
    return t;
  }
  const instants = instantsOfWallTime(nums[0], nums[1], nums[2], nums[3], nums[4], tz);
  if (instants.length > 0) return instants[0] + nums[5] * 1000;
  // In a spring-forward gap: the first instant after it.
  const later = instantsOfWallTime(nums[0], nums[1], nums[2], nums[3] + 1, 0, tz);
  return later.length ? later[0] : probe.getTime();
}
