import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/ids.js';
import type { Entry } from '../../src/model.js';
import { parseJournal } from '../../src/store/file/journal.js';
import { parseQueueName, queueName } from '../../src/store/file/queue-names.js';

const enqueued = Date.parse('2026-03-10T10:00:00Z');
const entry = (over: Partial<Entry>): Entry =>
  ({
    entry_id: timeOrderedId(enqueued),
    task_id: 'backup',
    priority: 5,
    attempt: 1,
    source: 'manual',
    group: null,
    not_before: null,
    ...over,
  }) as Entry;

describe('queueName and parseQueueName', () => {
  it('round-trip what ranking needs', () => {
    const e = entry({ priority: 10, attempt: 3, source: 'retry', group: 'g1', not_before: '2026-03-10T10:05:00.000Z' });
    const name = queueName(e);
    expect(name).toBe(`${e.entry_id}~p10~a3~rg~n${Date.parse('2026-03-10T10:05:00Z')}~backup.json`);
    expect(parseQueueName(name)).toEqual({
      entry_id: e.entry_id,
      task_id: 'backup',
      priority: 10,
      enqueued_ms: enqueued,
      attempt: 3,
      not_before_ms: Date.parse('2026-03-10T10:05:00Z'),
      source: 'retry',
      from_schedule: false,
      grouped: true,
      name,
    });
  });

  it('mark entries made by time and entries with no delay', () => {
    const ref = parseQueueName(queueName(entry({ source: 'schedule' })))!;
    expect(ref).toMatchObject({ source: 'schedule', from_schedule: true, grouped: false, not_before_ms: null });
  });

  it('parse nothing that queueName would not write', () => {
    const good = queueName(entry({}));
    for (const bad of [
      good.replace('~p5~', '~p0~'),
      good.replace('~p5~', '~p11~'),
      good.replace('~a1~', '~a0~'),
      good.replace('~m~', '~x~'),
      good.replace('.json', '.tmp'),
      good.replace('~backup', '~../x'),
      `${good}.bak`,
      'notes.txt',
      good.replace(/~n0~/, '~n9999999999999999~'),
    ]) {
      expect(parseQueueName(bad), bad).toBeNull();
    }
  });
});

describe('parseJournal', () => {
  it('keeps complete object lines with their exact text, counts the rest, and returns the torn tail', () => {
    const text = '{"a":1}\n\n[1,2]\nnot json\n{"a": 2}\n{"a":3';
    expect(parseJournal(text)).toEqual({
      records: [
        { line: '{"a":1}', value: { a: 1 } },
        { line: '{"a": 2}', value: { a: 2 } },
      ],
      corrupt: 2,
      tail: '{"a":3',
    });
  });

  it('reads an empty journal and one ending in a newline as having no tail', () => {
    expect(parseJournal('')).toEqual({ records: [], corrupt: 0, tail: '' });
    expect(parseJournal('{"b":1}\n').tail).toBe('');
    expect(parseJournal('null\n"s"\n').corrupt).toBe(2);
  });
});
