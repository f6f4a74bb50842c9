import { describe, expect, it } from 'vitest';
import { parseScheduleFile, problemsError, validateSchedules } from '../../src/app/apply.js';
import { previewCron } from '../../src/app/preview.js';
import { InputError } from '../../src/errors.js';

// The pure use cases behind `validate`, `apply` (before the store) and `next`, without the CLI.

const file = (text: string) => parseScheduleFile(Buffer.from(text));

describe('schedules files', () => {
  it('names the line of each bad item and keeps the good ones', () => {
    const parsed = file(
      [
        '- {task_id: a, task_name: A, handler: "true", schedule_type: interval, schedule_expr: 1m}',
        '- {task_id: b, task_name: B, handler: "true", schedule_type: interval, schedule_expr: soon}',
        '- {task_id: a, task_name: A, handler: "true", schedule_type: interval, schedule_expr: 1m}',
      ].join('\n'),
    );
    expect(parsed.definitions.map((d) => d.task_id)).toEqual(['a']);
    expect(parsed.problems.map((p) => p.line)).toEqual([2, 3]);
    expect(parsed.problems[1].message).toMatch(/duplicate task id 'a' \(first at line 1\)/);
  });

  it('refuses bytes that are not UTF-8, naming the line', () => {
    const parsed = parseScheduleFile(Buffer.from([0x2d, 0x20, 0x0a, 0x2d, 0x20, 0xff]));
    expect(parsed.problems).toEqual([{ line: 2, message: 'not valid UTF-8 (byte 5): save the file as UTF-8' }]);
  });

  it('validate resolves dependencies within the file and prints the cycle', () => {
    const parsed = file(
      [
        'schedules:',
        '  - {task_id: a, task_name: A, handler: "true", schedule_type: event, schedule_expr: x, depends_on: [b]}',
        '  - {task_id: b, task_name: B, handler: "true", schedule_type: event, schedule_expr: x, depends_on: [a]}',
      ].join('\n'),
    );
    const doc = validateSchedules('s.yaml', parsed);
    expect(doc).toEqual({
      file: 's.yaml',
      valid: false,
      schedules: 2,
      problems: [{ line: null, message: 'dependency cycle: a -> b -> a' }],
    });
  });

  it('the refusal names the first problem and counts the rest', () => {
    const err = problemsError('s.yaml', [
      { line: 4, message: 'bad' },
      { line: null, message: 'worse' },
    ]);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('s.yaml:4: bad (and 1 more problems); nothing applied');
  });
});

describe('cron preview', () => {
  const from = () => Date.parse('2025-03-30T00:30:00Z');

  it('lists the next runs in the zone; a run in the DST gap comes at its end (cronie)', () => {
    const p = previewCron('30 2 * * *', { tz: 'Europe/Berlin', count: 2, from });
    expect(p.runs).toEqual(['2025-03-30T03:00:00+02:00', '2025-03-31T02:30:00+02:00']);
    expect(p.description).toBe('At 02:30');
  });

  it('a bad expression is named before the start is asked for', () => {
    expect(() =>
      previewCron('61 * * * *', {
        tz: 'UTC',
        count: 1,
        from: () => {
          throw new Error('asked');
        },
      }),
    ).toThrow(InputError);
  });

  it('refuses an unknown zone', () => {
    expect(() => previewCron('@daily', { tz: 'Mars/Base', count: 1, from })).toThrow(/invalid time zone 'Mars\/Base'/);
  });
});
