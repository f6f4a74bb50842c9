import { describe, expect, it } from 'vitest';
import type { QueuedRef } from '../../src/model.js';
import { admit, impossibleEstimate } from '../../src/queue/admission.js';
import { effectivePriority, isReady, rankEntries } from '../../src/queue/order.js';

const MIN = 60_000;
const ref = (entry_id: string, priority: number, enqueued_ms: number): QueuedRef => ({
  entry_id,
  task_id: 't',
  priority,
  enqueued_ms,
  attempt: 1,
  not_before_ms: null,
  source: 'manual',
  from_schedule: false,
  grouped: false,
  name: entry_id,
});

describe('effectivePriority (aging)', () => {
  it('adds one step per threshold waited, never more than 10', () => {
    expect(effectivePriority({ priority: 3, enqueued_ms: 0 }, 29 * MIN, 30 * MIN)).toBe(3);
    expect(effectivePriority({ priority: 3, enqueued_ms: 0 }, 30 * MIN, 30 * MIN)).toBe(4);
    expect(effectivePriority({ priority: 3, enqueued_ms: 0 }, 95 * MIN, 30 * MIN)).toBe(6);
    expect(effectivePriority({ priority: 9, enqueued_ms: 0 }, 1000 * MIN, 30 * MIN)).toBe(10);
  });

  it('counts no waiting for an entry stamped in the future', () => {
    expect(effectivePriority({ priority: 5, enqueued_ms: 10 * MIN }, 0, MIN)).toBe(5);
  });
});

describe('rankEntries', () => {
  it('puts the highest effective priority first, then the oldest, then the smaller id', () => {
    const low = ref('a-low', 1, 0);
    const high = ref('b-high', 9, 50 * MIN);
    const sameLate = ref('c-same', 5, 40 * MIN);
    const sameEarly = ref('d-same', 5, 10 * MIN);
    const tieB = ref('f', 5, 10 * MIN);
    const tieA = ref('e', 5, 10 * MIN);
    const ranked = rankEntries([low, sameLate, tieB, high, sameEarly, tieA], 50 * MIN, 1000 * MIN);
    expect(ranked.map((e) => e.entry_id)).toEqual(['b-high', 'd-same', 'e', 'f', 'c-same', 'a-low']);
  });

  it('lets a long wait lift a low priority above a newer high one', () => {
    const old = ref('old', 1, 0);
    const fresh = ref('fresh', 8, 300 * MIN);
    expect(rankEntries([fresh, old], 300 * MIN, 30 * MIN).map((e) => e.entry_id)).toEqual(['old', 'fresh']);
  });

  it('sorts the array it is given, in place', () => {
    const list = [ref('x', 1, 0), ref('y', 2, 0)];
    expect(rankEntries(list, 0, MIN)).toBe(list);
    expect(list[0].entry_id).toBe('y');
  });
});

describe('isReady', () => {
  it('waits until not_before has passed', () => {
    expect(isReady({ not_before_ms: null }, 0)).toBe(true);
    expect(isReady({ not_before_ms: 100 }, 99)).toBe(false);
    expect(isReady({ not_before_ms: 100 }, 100)).toBe(true);
  });
});

describe('admit', () => {
  const limits = { maxConcurrent: 2, maxCpu: 80, maxMem: 85 };
  const none = { cpu: 0, mem: 0 };

  it('admits within every limit, up to the limit exactly', () => {
    expect(admit({ cpu: 10, mem: 10 }, { cpu: 60, mem: 70 }, { cpu: 10, mem: 5 }, 1, limits)).toEqual({ ok: true });
  });

  it('refuses at max-concurrent before looking at the load', () => {
    expect(admit(none, none, none, 2, limits)).toEqual({
      ok: false,
      reason: 'blocked: 2 running = max-concurrent 2',
      byLoad: false,
    });
  });

  it('counts what was just started on top of the readings', () => {
    expect(admit({ cpu: 10, mem: 0 }, { cpu: 50, mem: 0 }, { cpu: 25.04, mem: 0 }, 0, limits)).toEqual({
      ok: false,
      reason: 'blocked: cpu 75% + 10% > 80%',
      byLoad: true,
    });
    expect(admit({ cpu: 0, mem: 20 }, { cpu: 0, mem: 60.25 }, { cpu: 0, mem: 5 }, 0, limits)).toEqual({
      ok: false,
      reason: 'blocked: memory 65.3% + 20% > 85%',
      byLoad: true,
    });
  });

  it('names an estimate that alone exceeds a limit', () => {
    expect(impossibleEstimate({ cpu: 81, mem: 0 }, limits)).toBe('cpu estimate 81% exceeds the limit 80%');
    expect(impossibleEstimate({ cpu: 0, mem: 90 }, limits)).toBe('memory estimate 90% exceeds the limit 85%');
    expect(impossibleEstimate({ cpu: 80, mem: 85 }, limits)).toBeNull();
  });
});
