import type { Context } from '../context.js';
import type { BreakerState, Schedule } from '../model.js';
import { breakerStateAt } from '../policy/breaker.js';
import { maxAttempts } from '../policy/retry.js';
import { parseDuration } from '../time.js';

export function describeCron(expr: string): string | null {
  try {
    const cronstrue = (require('cronstrue') as typeof import('cronstrue')).default;
    return cronstrue.toString(expr, { use24HourTimeFormat: true, verbose: false });
  } catch {
    return null;
  }
}

export async function breakerStateOf(ctx: Context, s: Schedule): Promise<BreakerState> {
  return breakerStateAt(await ctx.store.readBreaker(s.circuit_breaker), ctx.clock(), parseDuration(s.breaker_cooldown, 'breaker cooldown'));
}

/** The object `get --json` prints: the stored fields minus internals, plus derived ones. */
export async function publicSchedule(ctx: Context, s: Schedule): Promise<Record<string, unknown>> {
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
