import type { Context } from '../context.js';

/**
 * A one-line progress display (done/running/queued) on a terminal, redrawn in
 * place and throttled; nothing at all when stdout is not a terminal.
 */
export function createProgress(enabled: boolean) {
  const on = enabled && Boolean(process.stdout.isTTY);
  let done = 0;
  let running = 0;
  let shown = false;
  let lastDraw = 0;
  return {
    started() {
      running++;
    },
    /** The handler has exited (its slot is free); its record may still be being written. */
    exited() {
      running = Math.max(0, running - 1);
    },
    finished() {
      done++;
    },
    clear() {
      if (on && shown) {
        process.stdout.write('\r\x1b[K');
        shown = false;
      }
    },
    async draw(ctx: Context) {
      if (!on || Date.now() - lastDraw < 100) return;
      lastDraw = Date.now();
      const queued = (await ctx.store.listQueued()).length;
      process.stdout.write(`\r\x1b[K${done} done, ${running} running, ${queued} queued`);
      shown = true;
    },
  };
}
