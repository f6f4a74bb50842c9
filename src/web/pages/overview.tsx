// The overview: tiles (today's runs, queue, dead letters, breakers, last pass, load against the
// admission limits), what runs now, what is due in the next 24 hours, runs per hour.
import { useMemo } from 'preact/hooks';
import { enc, getJson, post } from '../api';
import { Chart } from '../chart';
import { runsPerHour } from '../charts';
import { Time, fromNow, outcomeGroup } from '../format';
import { pageHref } from '../router';
import type { Execution, Load, QueueRow, Schedule, Stats } from '../types';
import { useData } from '../data';
import { Action, Empty, Loading, Tile, useCan } from '../ui';
import { runHrefOf } from '../entries';

const RECENT = 1000;
const DAY = 86_400_000;

function percent(v: number | null): string {
  return v === null ? '—' : `${Math.round(v)}%`;
}

function LoadTile({ label, value, limit }: { label: string; value: number | null; limit: number | null }) {
  const over = value !== null && limit !== null && value >= limit;
  return (
    <Tile
      label={label}
      value={percent(value)}
      note={limit === null ? 'no limit recorded yet' : `admission limit ${percent(limit)}`}
      tone={over ? 'bad' : undefined}
    />
  );
}

function Tiles({ stats, load, runs }: { stats: Stats; load: Load | undefined; runs: Execution[] | undefined }) {
  const midnight = new Date().setHours(0, 0, 0, 0);
  const today = (runs ?? []).filter((r) => Date.parse(r.finished_at) >= midnight);
  const ok = today.filter((r) => outcomeGroup(r.status) === 'ok').length;
  const failed = today.filter((r) => outcomeGroup(r.status) === 'failed').length;
  const capped = runs !== undefined && runs.length === RECENT && today.length === RECENT ? '+' : '';
  const passAge = load?.last_pass_at ? Date.now() - Date.parse(load.last_pass_at) : null;
  return (
    <section class="tiles" aria-label="summary">
      <Tile label="Runs today: ok" value={runs ? `${ok}${capped}` : '…'} tone="ok" />
      <Tile label="Runs today: failed" value={runs ? `${failed}${capped}` : '…'} tone={failed > 0 ? 'bad' : undefined} />
      <Tile label="Queue depth" value={stats.queued} note={`${stats.executing} running`} />
      <Tile label="Dead letters" value={stats.dlq} tone={stats.dlq > 0 ? 'warn' : undefined} />
      <Tile label="Open breakers" value={stats.breakers_open} tone={stats.breakers_open > 0 ? 'bad' : undefined} />
      <Tile
        label="Last pass"
        value={load?.last_pass_at ? <Time iso={load.last_pass_at} relative /> : 'never'}
        note={load?.last_pass_mode ?? undefined}
        tone={passAge === null || passAge > 5 * 60_000 ? 'warn' : undefined}
      />
      <LoadTile label="CPU" value={load?.cpu_percent ?? null} limit={load?.max_cpu ?? null} />
      <LoadTile label="Memory" value={load?.memory_percent ?? null} limit={load?.max_mem ?? null} />
    </section>
  );
}

function PauseControl({ paused, done }: { paused: boolean; done: () => void }) {
  const can = useCan('operate');
  return (
    <p class={paused ? 'banner warn' : 'banner'}>
      {paused ? 'The home is paused: nothing new starts.' : 'Passes start queued work.'}{' '}
      {can &&
        (paused ? (
          <Action label="Resume" run={() => post('/resume')} done={done} />
        ) : (
          <Action label="Pause" run={() => post('/pause')} done={done} />
        ))}
    </p>
  );
}

function RunningNow({ rows, done }: { rows: QueueRow[]; done: () => void }) {
  const can = useCan('operate');
  const running = rows.filter((r) => r.status === 'running');
  if (running.length === 0) return <Empty>Nothing is running.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th>Task</th>
          <th>Run</th>
          <th>Started</th>
          <th>Attempt</th>
          {can && <th />}
        </tr>
      </thead>
      <tbody>
        {running.map((r) => (
          <tr key={r.entry_id}>
            <td>
              <a href={pageHref.schedule(r.task_id)}>{r.task_id}</a>
            </td>
            <td>
              <a href={runHrefOf(r)}>{r.entry_id}</a>
            </td>
            <td>
              <Time iso={r.started_at ?? null} relative />
            </td>
            <td>
              {r.attempt}/{r.max_attempts ?? '?'}
            </td>
            {can && (
              <td>
                <Action label="Cancel" run={() => post(`/queue/${enc(r.entry_id)}/cancel`)} done={done} />
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NextDay({ schedules }: { schedules: Schedule[] }) {
  const now = Date.now();
  const due = schedules
    .filter((s) => s.enabled && s.next_execution && Date.parse(s.next_execution) - now < DAY)
    .sort((a, b) => Date.parse(a.next_execution!) - Date.parse(b.next_execution!));
  if (due.length === 0) return <Empty>Nothing is scheduled in the next 24 hours.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th>When</th>
          <th>Task</th>
          <th>Schedule</th>
        </tr>
      </thead>
      <tbody>
        {due.map((s) => (
          <tr key={s.task_id}>
            <td>
              <Time iso={s.next_execution} /> <span class="muted">({fromNow(s.next_execution!)})</span>
            </td>
            <td>
              <a href={pageHref.schedule(s.task_id)}>{s.task_id}</a>
            </td>
            <td>{s.description ?? s.schedule_expr}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Overview() {
  const any = () => true;
  const stats = useData(() => getJson<Stats>('/stats'), 'stats', { on: any, everyMs: 10_000 });
  const load = useData(() => getJson<Load>('/load'), 'load', { everyMs: 5000 });
  const queue = useData(() => getJson<QueueRow[]>('/queue'), 'queue', { on: any, everyMs: 5000 });
  const runs = useData(() => getJson<Execution[]>(`/runs?limit=${RECENT}`), 'runs', {
    on: (m) => m.type === 'finished',
    everyMs: 60_000,
  });
  const schedules = useData(() => getJson<Schedule[]>('/schedules'), 'schedules', { on: any, everyMs: 60_000 });
  const chart = useMemo(() => runs.data && runsPerHour(runs.data, Date.now()), [runs.data]);
  const reload = () => {
    stats.reload();
    queue.reload();
  };
  return (
    <>
      <h1>Overview</h1>
      <Loading loaded={stats}>
        {(s) => (
          <>
            <Tiles stats={s} load={load.data} runs={runs.data} />
            <PauseControl paused={s.paused} done={reload} />
          </>
        )}
      </Loading>
      <h2>Running now</h2>
      <Loading loaded={queue}>{(rows) => <RunningNow rows={rows} done={reload} />}</Loading>
      <h2>Runs per hour, last 24 hours</h2>
      <Loading loaded={runs}>{() => chart && <Chart spec={chart} label="runs per hour by outcome" />}</Loading>
      <h2>Next 24 hours</h2>
      <Loading loaded={schedules}>{(list) => <NextDay schedules={list} />}</Loading>
    </>
  );
}
