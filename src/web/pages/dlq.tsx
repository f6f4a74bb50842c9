// Dead letters: entries that used up their attempts; retry queues one again, purge (admin) drops all.
import { enc, getJson, post } from '../api';
import { Time } from '../format';
import { pageHref } from '../router';
import type { DeadLetter } from '../types';
import { useData } from '../data';
import { Action, Empty, Loading, useCan } from '../ui';

export function Dlq() {
  const canRetry = useCan('operate');
  const canPurge = useCan('admin');
  const dlq = useData(() => getJson<DeadLetter[]>('/dlq'), 'dlq', { on: (m) => m.type === 'finished' });
  return (
    <>
      <h1>Dead letters</h1>
      <Loading loaded={dlq}>
        {(letters) =>
          letters.length === 0 ? (
            <Empty>No dead letters.</Empty>
          ) : (
            <>
              {canPurge && (
                <p>
                  <Action
                    label={`Purge all ${letters.length}`}
                    danger
                    confirm={`Delete all ${letters.length} dead letters? They cannot be retried afterwards.`}
                    run={() => post('/dlq/purge')}
                    done={dlq.reload}
                  />
                </p>
              )}
              <table>
                <thead>
                  <tr>
                    <th>Entry</th>
                    <th>Task</th>
                    <th>Dead since</th>
                    <th>Attempts</th>
                    <th>Last error</th>
                    <th>Log tail</th>
                    {canRetry && <th />}
                  </tr>
                </thead>
                <tbody>
                  {letters.map((d) => (
                    <tr key={d.entry_id}>
                      <td>
                        <a href={pageHref.run(`${d.entry_id}.${d.runs}`)}>{d.entry_id}</a>
                      </td>
                      <td>
                        <a href={pageHref.schedule(d.task_id)}>{d.task_id}</a>
                      </td>
                      <td>
                        <Time iso={d.dead_at} />
                      </td>
                      <td>
                        {d.attempt}/{d.max_attempts}
                      </td>
                      <td>{d.last_error ?? (d.last_exit_code === null ? '—' : `exit ${d.last_exit_code}`)}</td>
                      <td>
                        <pre class="tail">{d.log_tail || '(empty)'}</pre>
                      </td>
                      {canRetry && (
                        <td>
                          <Action label="Retry" run={() => post(`/dlq/${enc(d.entry_id)}/retry`)} done={dlq.reload} />
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
        }
      </Loading>
    </>
  );
}
