import type { Context } from '../context.js';
import { isoInZone } from '../time.js';

/** Pauses the home (nothing new starts; running tasks finish) or resumes it; answers `pause --json`. */
export async function setPaused(ctx: Context, paused: boolean): Promise<{ paused: boolean }> {
  await ctx.store.setPaused(paused, isoInZone(ctx.clock()));
  return { paused };
}
