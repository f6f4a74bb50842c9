import { describe, expect, it } from 'vitest';
import { coalesce } from '../../src/dispatch/wake.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('wake-ups', () => {
  it('pass the first signal on at once, then merge a storm into one per gap', async () => {
    let fired = 0;
    const w = coalesce(() => fired++, 40);
    w.signal();
    expect(fired).toBe(1);
    for (let i = 0; i < 1000; i++) w.signal();
    expect(fired).toBe(1);
    await sleep(80);
    expect(fired).toBe(2);
    // A quiet spell longer than the gap (counted from that fire, however late a loaded machine ran
    // it): the next signal is passed on at once again.
    await sleep(60);
    w.signal();
    expect(fired).toBe(3);
  });

  it('once cancelled, a pending wake-up never fires', async () => {
    let fired = 0;
    const w = coalesce(() => fired++, 40);
    w.signal();
    w.signal();
    w.cancel();
    await sleep(80);
    expect(fired).toBe(1);
  });
});
