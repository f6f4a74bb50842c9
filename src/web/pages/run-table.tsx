// A table of runs, newest first: the finished ones from history, and those still running above them.
import { Outcome, Time, duration } from '../format';
import { pageHref } from '../router';
import type { Execution, QueueRow } from '../types';
import { Empty } from '../ui';
import { executionOf, runHrefOf } from '../entries';

function exitOf(r: Execution): string {
  if (r.exit_code !== null) return String(r.exit_code);
  return r.signal ?? '—';
}

export function RunTable({
  runs,
  running = [],
  showTask = true,
}: {
  runs: Execution[];
  running?: QueueRow[];
  showTask?: boolean;
}) {
  if (runs.length === 0 && running.length === 0) return <Empty>No runs.</Empty>;
  return (
    <table class="runs">
      <thead>
        <tr>
          <th>Run</th>
          {showTask && <th>Task</th>}
          <th>Status</th>
          <th>Started</th>
          <th>Duration</th>
          <th>Exit</th>
          <th>Attempt</th>
        </tr>
      </thead>
      <tbody>
        {running.map((r) => (
          <tr key={r.entry_id}>
            <td>
              <a href={runHrefOf(r)}>{executionOf(r)}</a>
            </td>
            {showTask && (
              <td>
                <a href={pageHref.schedule(r.task_id)}>{r.task_id}</a>
              </td>
            )}
            <td>
              <Outcome status="running" />
            </td>
            <td>
              <Time iso={r.started_at ?? null} />
            </td>
            <td>…</td>
            <td>—</td>
            <td>{r.attempt}</td>
          </tr>
        ))}
        {runs.map((r) => (
          <tr key={r.execution_id}>
            <td>
              <a href={pageHref.run(r.execution_id)}>{r.execution_id}</a>
            </td>
            {showTask && (
              <td>
                <a href={pageHref.schedule(r.task_id)}>{r.task_id}</a>
              </td>
            )}
            <td>
              <Outcome status={r.status} />
            </td>
            <td>
              <Time iso={r.started_at} />
            </td>
            <td>{duration(r.duration_ms)}</td>
            <td>{exitOf(r)}</td>
            <td>{r.attempt}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
