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
  // A line drawn after a clear (the count arrives from a database a moment later) would sit under what followed.
  let cleared = 0;
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
      cleared++;
      if (on && shown) {
        process.stdout.write('\r\x1b[K');
        shown = false;
      }
    },
    draw(ctx: Context): void {
      if (!on || Date.now() - lastDraw < 100) return;
      lastDraw = Date.now();
      const at = cleared;
      Promise.resolve(ctx.store.listQueued()).then(
        (queued) => {
          if (at !== cleared) return;
          process.stdout.write(`\r\x1b[K${done} done, ${running} running, ${queued.length} queued`);
          shown = true;
        },
        () => undefined, // a progress line is not worth failing the pass for
      );
    },
  };
}
