import type { Context } from '../context.js';
import type { BreakerState, Schedule } from '../model.js';
import { breakerStateAt } from '../policy/breaker.js';
import { maxAttempts } from '../policy/retry.js';
import { parseDuration } from '../time.js';

/**
 * A schedule as `get --json`, `list --json`, `create`, `enable` and `disable`
 * show it: the stored fields minus internals, plus derived ones.
 */
export type ScheduleView = Omit<Schedule, 'pending' | 'once_fired' | 'format' | 'incarnation'> & {
  breaker_state: BreakerState;
  max_attempts: number;
  estimated_cpu_percent: number;
  estimated_memory_percent: number;
  description: string | null;
};

/** A cron expression in words, or null when cronstrue cannot say it. */
export function describeCron(expr: string): string | null {
  try {
    // Loaded on first use: scripts calling `queue` or `trigger` never need it.
    const cronstrue = (require('cronstrue') as typeof import('cronstrue')).default;
    return cronstrue.toString(expr, { use24HourTimeFormat: true, verbose: false });
  } catch {
    return null;
  }
}

export async function breakerStateOf(ctx: Context, s: Schedule): Promise<BreakerState> {
  return breakerStateAt(
    await ctx.store.readBreaker(s.circuit_breaker),
    ctx.clock(),
    parseDuration(s.breaker_cooldown, 'breaker cooldown'),
  );
}

export async function publicSchedule(ctx: Context, s: Schedule): Promise<ScheduleView> {
  const { pending: _p, once_fired: _o, format: _f, incarnation: _i, ...rest } = s;
  return {
    ...rest,
    breaker_state: await breakerStateOf(ctx, s),
    max_attempts: maxAttempts(s),
    estimated_cpu_percent: s.cpu,
    estimated_memory_percent: s.mem,
    description: s.schedule_type === 'cron' ? describeCron(s.schedule_expr) : describeOther(s),
  };
}

function describeOther(s: Schedule): string {
  switch (s.schedule_type) {
    case 'interval':
      return `Every ${s.schedule_expr}`;
    case 'once':
      return `Once, at ${s.schedule_expr}`;
    default:
      return `On event ${s.schedule_expr}`;
  }
}
