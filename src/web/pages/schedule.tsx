// One schedule: its definition, its next 10 runs (daylight-saving gaps and repeats marked), its
// history and a chart of its durations.
import type { ComponentChildren } from 'preact';
import { useMemo } from 'preact/hooks';
import { enc, getJson } from '../api';
import { Chart } from '../chart';
import { durations } from '../charts';
import { Time, duration, zoneTime } from '../format';
import type { StreamMessage } from '../stream';
import type { Execution, NextRuns, Schedule } from '../types';
import { useData } from '../data';
import { Empty, Loading } from '../ui';
import { RunTable } from './run-table';
import { Breaker } from './schedule-parts';
import { ScheduleActions } from './schedule-actions';

const HISTORY = 200;

const DST_NOTE = {
  gap: 'daylight saving begins: this wall-clock time does not exist that day, so the run moves to the end of the gap',
  repeat: 'daylight saving ends: this wall-clock time happens twice that day, and the run happens once, at the first',
};

function Definition({ s }: { s: Schedule }) {
  const rows: [string, ComponentChildren][] = [
    ['Name', s.task_name],
    [
      'Schedule',
      `${s.description ?? ''} (${s.schedule_type} ${s.schedule_expr}${s.schedule_type === 'cron' ? `, ${s.tz}` : ''})`,
    ],
    ['Handler', <code>{s.handler}</code>],
    ['Enabled', s.enabled ? 'yes' : 'no'],
    ['Priority', s.priority],
    ['Breaker', <Breaker state={s.breaker_state} />],
    ['Runs', `${s.execution_count} (${s.failure_count} failed), average ${duration(s.average_duration_ms)}`],
    ['Last run', <Time iso={s.last_executed} />],
    ['Timeout', s.timeout ?? 'none'],
    ['Retries', s.retries === null ? `policy ${s.retry_policy}` : `${s.retries} (policy ${s.retry_policy})`],
    ['Overlap, catch-up', `${s.overlap}, ${s.catch_up}`],
    ['Depends on', s.depends_on.length ? s.depends_on.join(', ') : 'nothing'],
    ['Estimated load', `CPU ${s.estimated_cpu_percent}%, memory ${s.estimated_memory_percent}%`],
  ];
  return (
    <table class="definition">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NextList({ next }: { next: NextRuns }) {
  if (next.runs.length === 0)
    return <Empty>No upcoming runs{next.schedule_type === 'event' ? ': it runs when its event comes' : ''}.</Empty>;
  return (
    <>
      <p class="muted">In your browser's time zone; in grey, in the schedule's own ({next.tz}).</p>
      <ol class="next-runs">
        {next.runs.map((r) => (
          <li key={r.at} class={r.dst ? `dst dst-${r.dst}` : undefined}>
            <Time iso={r.at} /> <span class="muted">{zoneTime(r.at, next.tz)}</span>
            {r.dst && (
              <span class="badge dst-mark" title={DST_NOTE[r.dst]}>
                DST {r.dst}
              </span>
            )}
          </li>
        ))}
      </ol>
    </>
  );
}

export function ScheduleDetail({ id }: { id: string }) {
  const mine = (m: StreamMessage) => m.type !== 'resync' && m.task_id === id;
  const schedule = useData(() => getJson<Schedule>(`/schedules/${enc(id)}`), `s:${id}`, { on: mine, everyMs: 30_000 });
  const next = useData(() => getJson<NextRuns>(`/schedules/${enc(id)}/next?count=10`), `n:${id}`, { on: mine, everyMs: 60_000 });
  const runs = useData(() => getJson<Execution[]>(`/runs?task=${enc(id)}&limit=${HISTORY}`), `r:${id}`, {
    on: (m) => mine(m) && m.type === 'finished',
  });
  const chart = useMemo(() => (runs.data && runs.data.length > 0 ? durations(runs.data) : null), [runs.data]);
  return (
    <>
      <h1>
        Schedule {id} {schedule.data && <ScheduleActions s={schedule.data} done={schedule.reload} />}
      </h1>
      <Loading loaded={schedule}>{(s) => <Definition s={s} />}</Loading>
      <h2>Next 10 runs</h2>
      <Loading loaded={next}>{(n) => <NextList next={n} />}</Loading>
      <h2>Durations</h2>
      <Loading loaded={runs}>
        {() => (chart ? <Chart spec={chart} label={`durations of ${id}'s runs`} /> : <Empty>No runs yet.</Empty>)}
      </Loading>
      <h2>History</h2>
      <Loading loaded={runs}>{(list) => <RunTable runs={list} showTask={false} />}</Loading>
    </>
  );
}
