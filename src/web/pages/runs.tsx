// Runs, filterable by task and outcome; new ones appear as the stream announces them.
import { getJson, withQuery } from '../api';
import { navigate, useLocation } from '../router';
import type { StreamMessage } from '../stream';
import type { Execution, QueueRow, RunStatus, Schedule } from '../types';
import { useData } from '../data';
import { Loading } from '../ui';
import { RunTable } from './run-table';

const STATUSES: RunStatus[] = ['success', 'failed', 'timeout', 'cancelled', 'abandoned', 'skipped'];
const LIMITS = ['50', '100', '500', '1000'];

function Filters({ query, tasks }: { query: URLSearchParams; tasks: string[] }) {
  const set = (name: string, value: string) => {
    const next = Object.fromEntries(query);
    next[name] = value;
    navigate(withQuery('/runs', next), true);
  };
  const select = (name: string, label: string, options: string[], all: string) => (
    <label>
      {label}{' '}
      <select name={name} value={query.get(name) ?? ''} onChange={(e) => set(name, e.currentTarget.value)}>
        <option value="">{all}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()}>
      {select('task', 'Task', tasks, 'all tasks')}
      {select('status', 'Outcome', STATUSES, 'any outcome')}
      {select('limit', 'Show', LIMITS, 'latest 100')}
    </form>
  );
}

export function Runs() {
  const { query } = useLocation();
  const task = query.get('task') ?? '';
  const status = query.get('status') ?? '';
  const limit = query.get('limit') || '100';
  const matches = (m: StreamMessage) => m.type !== 'resync' && (!task || m.task_id === task);
  const path = withQuery('/runs', { task, status, limit });
  const runs = useData(() => getJson<Execution[]>(path), path, { on: (m) => matches(m) && m.type === 'finished' });
  const queue = useData(() => getJson<QueueRow[]>('/queue'), 'queue', { on: (m) => matches(m) && m.type !== 'queued' });
  const schedules = useData(() => getJson<Schedule[]>('/schedules'), 'schedules');
  const running = status ? [] : (queue.data ?? []).filter((r) => r.status === 'running' && (!task || r.task_id === task));
  const tasks = (schedules.data ?? []).map((s) => s.task_id);
  if (task && !tasks.includes(task)) tasks.unshift(task);
  return (
    <>
      <h1>Runs</h1>
      <Filters query={query} tasks={tasks} />
      <Loading loaded={runs}>{(list) => <RunTable runs={list} running={running} />}</Loading>
    </>
  );
}
