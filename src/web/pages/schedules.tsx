// Every schedule: what it does in plain words, when it runs next, its last 20 outcomes, its breaker.
import { getJson } from '../api';
import { Time, fromNow } from '../format';
import { pageHref } from '../router';
import type { Execution, Schedule } from '../types';
import { useData } from '../data';
import { Empty, Loading } from '../ui';
import { Breaker, Outcomes } from './schedule-parts';
import { ScheduleActions } from './schedule-actions';

// The outcomes come from one read of recent history, not one request per schedule: a schedule
// that has not run among the latest RECENT runs shows none.
const RECENT = 2000;
const LAST = 20;

function lastOutcomes(runs: Execution[]): Map<string, Execution[]> {
  const by = new Map<string, Execution[]>();
  for (const r of runs) {
    const list = by.get(r.task_id) ?? [];
    if (list.length < LAST) list.push(r);
    by.set(r.task_id, list);
  }
  return by;
}

function Row({ s, runs, done }: { s: Schedule; runs: Execution[]; done: () => void }) {
  return (
    <tr class={s.enabled ? undefined : 'disabled'}>
      <td>
        <a href={pageHref.schedule(s.task_id)}>{s.task_id}</a>
        <div class="muted">{s.task_name}</div>
      </td>
      <td title={`${s.schedule_type} ${s.schedule_expr}`}>
        {s.description ?? `${s.schedule_type} ${s.schedule_expr}`}
        {s.schedule_type === 'cron' && <div class="muted">{s.tz}</div>}
      </td>
      <td>
        {s.enabled ? (
          s.next_execution ? (
            <>
              <Time iso={s.next_execution} />
              <div class="muted">{fromNow(s.next_execution)}</div>
            </>
          ) : (
            <span class="muted">{s.schedule_type === 'event' ? 'on event' : 'none'}</span>
          )
        ) : (
          <span class="muted">disabled</span>
        )}
      </td>
      <td>
        <Outcomes runs={runs} />
      </td>
      <td>
        <Breaker state={s.breaker_state} />
      </td>
      <td>
        <ScheduleActions s={s} done={done} />
      </td>
    </tr>
  );
}

export function Schedules() {
  const schedules = useData(() => getJson<Schedule[]>('/schedules'), 'schedules', { on: () => true, everyMs: 30_000 });
  const runs = useData(() => getJson<Execution[]>(`/runs?limit=${RECENT}`), 'runs', { on: (m) => m.type === 'finished' });
  const outcomes = lastOutcomes(runs.data ?? []);
  return (
    <>
      <h1>Schedules</h1>
      <Loading loaded={schedules}>
        {(list) =>
          list.length === 0 ? (
            <Empty>
              No schedules yet: <code>conductor create</code> or <code>conductor apply</code> adds them.
            </Empty>
          ) : (
            <table class="schedules">
              <thead>
                <tr>
                  <th>Task</th>
                  <th>Schedule</th>
                  <th>Next run</th>
                  <th>Last {LAST} outcomes</th>
                  <th>Breaker</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <Row key={s.task_id} s={s} runs={outcomes.get(s.task_id) ?? []} done={schedules.reload} />
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </>
  );
}
