import type { Context } from '../context.js';
import type { Schedule } from '../model.js';
import { formatDuration } from '../time.js';
import { collectStats } from './stats.js';
import { queueStatus } from './status.js';
import { lateSchedules, overdueEntries } from './waiting.js';

export interface Finding {
  check: string;
  ok: boolean;
  message: string;
}

/** What `health --json` prints; `GET /health` answers 200 when healthy, 503 when not. */
export interface HealthReport {
  healthy: boolean;
  findings: Finding[];
}

/**
 * The heartbeat of `process` (at most `maxAgeMs` old), orphaned running
 * entries, entries and schedules that wait too long, the store's own
 * findings, quarantine, breakers, dead letters.
 */
export async function checkHealth(ctx: Context, o: { maxAgeMs: number; maxWaitMs: number }): Promise<HealthReport> {
  const { store } = ctx;
  const now = ctx.clock();
  const findings: Finding[] = [];
  const add = (check: string, ok: boolean, message: string) => findings.push({ check, ok, message });
  const hb = await store.readState<{ at: string; mode: string; pid: number }>('heartbeat');
  if (!hb) add('heartbeat', false, 'no process pass has ever run on this home');
  else {
    const age = now - Date.parse(hb.at);
    add(
      'heartbeat',
      age <= o.maxAgeMs,
      `last ${hb.mode} heartbeat ${formatDuration(Math.max(0, age))} ago (max ${formatDuration(o.maxAgeMs)})`,
    );
  }
  let orphans = 0;
  for (const r of await store.listRunning()) if (!(await store.ownerAlive(r.owner))) orphans++;
  add(
    'running',
    orphans === 0,
    orphans
      ? `${orphans} running entr${orphans === 1 ? 'y has' : 'ies have'} no live dispatcher (the next process recovers them)`
      : 'no orphaned running entries',
  );
  const schedules = await store.listSchedules();
  for (const f of await waitFindings(ctx, schedules, now, o.maxWaitMs)) add(f.check, f.ok, f.message);
  for (const f of await store.healthFindings(now)) add(f.check, f.ok, f.message);
  const stats = await collectStats(ctx, schedules);
  const quarantined =
    store.kind === 'file' ? `${stats.quarantined} file(s) in quarantine/` : `${stats.quarantined} record(s) in quarantine`;
  add('quarantine', stats.quarantined === 0, stats.quarantined ? quarantined : 'no quarantined files');
  const open = Object.entries(stats.breakers).filter(([, s]) => s !== 'closed');
  add(
    'breakers',
    open.length === 0,
    open.length ? `breakers not closed: ${open.map(([n, s]) => `${n} (${s})`).join(', ')}` : 'all breakers closed',
  );
  add('dlq', stats.dlq === 0, `${stats.dlq} dead letter(s)`);
  if (stats.paused) add('paused', true, 'home is paused');
  return { healthy: findings.every((f) => f.ok), findings };
}

/** Due entries waiting longer than maxWaitMs, and late schedules, each named with why it waits. */
async function waitFindings(ctx: Context, schedules: Schedule[], now: number, maxWaitMs: number): Promise<Finding[]> {
  const { rows, paused } = await queueStatus(ctx, { starvationMs: 30 * 60_000, withPaused: true });
  if (paused) for (const r of rows) r.blocked_reason ??= 'the home is paused (conductor resume)';
  const overdue = overdueEntries(rows, now, maxWaitMs);
  const late = lateSchedules(schedules, rows, now);
  return [
    {
      check: 'waiting',
      ok: overdue.length === 0,
      message: overdue.length
        ? `${overdue.length} due entr${overdue.length === 1 ? 'y has' : 'ies have'} waited longer than ${formatDuration(maxWaitMs)}: ${listed(overdue)}`
        : `no due entry has waited longer than ${formatDuration(maxWaitMs)}`,
    },
    {
      check: 'late',
      ok: late.length === 0,
      message: late.length ? `late schedule${late.length === 1 ? '' : 's'}: ${listed(late)}` : 'no schedule is late',
    },
  ];
}

/** The first few, then how many more: a finding stays one line. */
function listed(items: string[], max = 5): string {
  return items.slice(0, max).join('; ') + (items.length > max ? `; and ${items.length - max} more` : '');
}
