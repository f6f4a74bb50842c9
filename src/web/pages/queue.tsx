// The queue: every entry not yet finished, its priority as aging has raised it, and why it waits.
import { enc, getJson, post } from '../api';
import { runHrefOf, whyWaiting } from '../entries';
import { Outcome, Time } from '../format';
import { pageHref } from '../router';
import type { QueueRow } from '../types';
import { useData } from '../data';
import { Action, Empty, Loading, useCan } from '../ui';

function Priority({ r }: { r: QueueRow }) {
  const aged = r.effective_priority - r.priority;
  if (aged <= 0) return <>{r.priority}</>;
  return (
    <span title={`priority ${r.priority}, raised by ${aged} for the time it has waited`}>
      {r.effective_priority}{' '}
      <span class="muted">
        ({r.priority} + {aged} aging)
      </span>
    </span>
  );
}

export function Queue() {
  const can = useCan('operate');
  const queue = useData(() => getJson<QueueRow[]>('/queue'), 'queue', { on: () => true, everyMs: 5000 });
  return (
    <>
      <h1>Queue</h1>
      <Loading loaded={queue}>
        {(rows) =>
          rows.length === 0 ? (
            <Empty>The queue is empty.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Entry</th>
                  <th>Task</th>
                  <th>Status</th>
                  <th>Effective priority</th>
                  <th>Enqueued</th>
                  <th>Attempt</th>
                  <th>Why it waits</th>
                  {can && <th />}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.entry_id}>
                    <td>{r.status === 'running' ? <a href={runHrefOf(r)}>{r.entry_id}</a> : r.entry_id}</td>
                    <td>
                      <a href={pageHref.schedule(r.task_id)}>{r.task_id}</a>
                    </td>
                    <td>
                      <Outcome status={r.status} />
                    </td>
                    <td>
                      <Priority r={r} />
                    </td>
                    <td>
                      <Time iso={r.enqueued_at} relative />
                    </td>
                    <td>
                      {r.attempt}/{r.max_attempts ?? '?'}
                    </td>
                    <td class="why">{whyWaiting(r)}</td>
                    {can && (
                      <td>
                        <Action label="Cancel" run={() => post(`/queue/${enc(r.entry_id)}/cancel`)} done={queue.reload} />
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </>
  );
}
