import { InputError } from '../errors.js';

/**
 * The grammar of one cron field, as cronie reads it (src/entry.c: get_list,
 * get_range, get_number, set_element): a comma list of `*`, `N`, `N-M`, each
 * with an optional `/STEP`; numbers or, in month and day-of-week only, the
 * three-letter English names. Values are a set, so repeats (`0,0`, `1,1-3`)
 * are harmless, as in cronie's bit strings.
 */
interface FieldRule {
  name: string;
  low: number;
  high: number;
  names?: string[];
}

export const FIELD_RULES: readonly FieldRule[] = [
  { name: 'minute', low: 0, high: 59 },
  { name: 'hour', low: 0, high: 23 },
  { name: 'day-of-month', low: 1, high: 31 },
  {
    name: 'month',
    low: 1,
    high: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  // 0 and 7 are both Sunday (cronie's DowNames lists Sun first, so `sun` is 0).
  { name: 'day-of-week', low: 0, high: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const DOW = 4;

/** The values of field `index` (0 = minute), sorted; Sunday as 0 in day-of-week. */
export function parseField(index: number, text: string): number[] {
  const rule = FIELD_RULES[index];
  const fail = (why: string): never => {
    throw new InputError(`invalid cron ${rule.name} field '${text}': ${why}`);
  };
  const values = new Set<number>();
  for (const part of text.split(',')) addRange(rule, index, part, values, fail);
  if (index === DOW && values.delete(7)) values.add(0);
  return [...values].sort((a, b) => a - b);
}

const RANGE = /^(?:(\*)|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:\/([0-9]+))?$/i;

function addRange(rule: FieldRule, index: number, part: string, values: Set<number>, fail: (why: string) => never): void {
  const m = RANGE.exec(part);
  if (!m) fail(`'${part}' is not a number, a range or '*'`);
  const [, star, first, last, stepText] = m!;
  const step = stepText === undefined ? 1 : Number(stepText);
  if (step < 1) fail('a step must be at least 1');
  // cronie reads steps with strtol into an int: a huge one is an error there, never "every 10^20".
  if (step > rule.high - rule.low + 1) fail(`a step of ${stepText} is larger than the field (${rule.low}-${rule.high})`);
  let lo = star ? rule.low : valueOf(rule, first, fail);
  // `N/STEP` (N to the field's end) is refused by cronie but was always taken here; kept so stored schedules still load.
  let hi = star || (last === undefined && stepText !== undefined) ? rule.high : valueOf(rule, last ?? first, fail);
  // cronie (get_range, R_RANGE_NUM2): a range ending in 0 below its start ends at 7, Sunday, so `sat-sun`
  // and `5-0` work. cronie does it in every field and before no step; elsewhere it gives a job that
  // never runs or odd minutes (5-0 as 5,6,7), so there it is refused below as backwards.
  if (index === DOW && last !== undefined && stepText === undefined && hi === 0 && lo > hi) hi = 7;
  // cronie loads a backwards range as no values at all (a job that never runs); refusing says why.
  if (lo > hi) fail(`range ${first}-${last} runs backwards`);
  for (; lo <= hi; lo += step) values.add(lo);
}

function valueOf(rule: FieldRule, token: string, fail: (why: string) => never): number {
  if (/^[0-9]+$/.test(token)) {
    const n = Number(token);
    if (n < rule.low || n > rule.high) fail(`${token} is out of range ${rule.low}-${rule.high}`);
    return n;
  }
  if (!rule.names) fail(`names are only for month and day-of-week, not '${token}'`);
  const at = rule.names!.indexOf(token.toLowerCase());
  if (at < 0) fail(`unknown name '${token}'`);
  return at + rule.low;
}
