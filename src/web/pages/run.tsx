// One run: its status, why it waited, its attempts and its captured log (followed while it runs).
import { useEffect, useState } from 'preact/hooks';
import { enc, follow, getJson, getText, messageOf } from '../api';
import { Outcome, Time, duration, localTime } from '../format';
import { pageHref } from '../router';
import type { Execution } from '../types';
import { useData } from '../data';
import { ErrorNote, Loading } from '../ui';
import { whyWaiting } from '../entries';
import { RunTable } from './run-table';
import { entryOf, runState, type RunState } from './run-state';

function Log({ id, live, ended }: { id: string; live: boolean; ended: () => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [following, setFollowing] = useState(live);
  useEffect(() => {
    const stop = new AbortController();
    const path = `/runs/${enc(id)}/log`;
    const done = live
      ? follow(`${path}?follow=1`, (chunk) => setText((t) => t + chunk), stop.signal).then(() => ended())
      : getText(path).then(setText);
    done
      .catch((err: unknown) => stop.signal.aborted || setError(messageOf(err)))
      .finally(() => stop.signal.aborted || setFollowing(false));
    return () => stop.abort();
  }, [id, live]);
  return (
    <>
      <ErrorNote error={error} />
      <pre class="log" aria-label="captured output">
        {text || (following ? '' : '(no output)')}
      </pre>
      {following && <p class="muted following">following the output while the run goes on…</p>}
    </>
  );
}

/** Why the run started when it did: what it was due for, what triggered it, what held it back. */
function Waited({ state }: { state: RunState }) {
  if (state.phase === 'waiting') return <p class="why">Waiting: {whyWaiting(state.row)}</p>;
  if (state.phase === 'running') {
    const { row } = state;
    const waited = row.started_at ? Date.parse(row.started_at) - Date.parse(row.enqueued_at) : null;
    return (
      <p class="why">
        Queued <Time iso={row.enqueued_at} /> ({row.source}){waited !== null && `, started ${duration(waited)} later`}.
      </p>
    );
  }
  if (state.phase !== 'done') return null;
  const r = state.record;
  const parts: string[] = [];
  if (r.scheduled_for) {
    const late = Date.parse(r.started_at) - Date.parse(r.scheduled_for);
    parts.push(`due ${localTime(r.scheduled_for)}, started ${late > 0 ? `${duration(late)} later` : 'on time'}`);
  }
  if (r.event) parts.push(`triggered by event ${r.event}`);
  if (r.attempt > 1) parts.push(`attempt ${r.attempt}, after the retry delay`);
  if (r.error) parts.push(r.error);
  return parts.length ? <p class="why">{parts.join('; ')}.</p> : null;
}

function Summary({ state }: { state: RunState }) {
  if (state.phase === 'missing') return <ErrorNote error={state.message} />;
  const task = state.phase === 'done' ? state.record.task_id : state.row.task_id;
  const r = state.phase === 'done' ? state.record : null;
  return (
    <dl class="summary">
      <dt>Status</dt>
      <dd>
        <Outcome status={r ? r.status : state.phase === 'running' ? 'running' : 'queued'} />
      </dd>
      <dt>Task</dt>
      <dd>
        <a href={pageHref.schedule(task)}>{task}</a>
      </dd>
      <dt>Started</dt>
      <dd>
        <Time iso={r ? r.started_at : state.phase === 'running' ? (state.row.started_at ?? null) : null} />
      </dd>
      {r && (
        <>
          <dt>Finished</dt>
          <dd>
            <Time iso={r.finished_at} /> after {duration(r.duration_ms)}
          </dd>
          <dt>Exit</dt>
          <dd>{r.exit_code ?? r.signal ?? '—'}</dd>
          <dt>Peak</dt>
          <dd>
            CPU {r.peak_cpu_percent ?? '—'}%, memory {r.peak_memory_mb ?? '—'} MB
          </dd>
        </>
      )}
    </dl>
  );
}

function Attempts({ id, task }: { id: string; task: string }) {
  const entry = entryOf(id);
  const runs = useData(
    () => getJson<Execution[]>(`/runs?task=${enc(task)}&limit=1000`).then((xs) => xs.filter((x) => x.entry_id === entry)),
    `${task}/${entry}`,
    { on: (m) => m.type === 'finished' && m.entry_id === entry },
  );
  return <Loading loaded={runs}>{(list) => <RunTable runs={list} showTask={false} />}</Loading>;
}

export function Run({ id }: { id: string }) {
  const [done, setDone] = useState(false);
  // Until it has finished, also polled: blocked reasons and adoption by a pass come with no event.
  const state = useData(() => runState(id), id, {
    on: (m) => m.type === 'resync' || m.entry_id === entryOf(id),
    everyMs: done ? 0 : 5000,
  });
  const s = state.data;
  useEffect(() => setDone(s?.phase === 'done'), [s?.phase]);
  const task = s && s.phase !== 'missing' ? (s.phase === 'done' ? s.record.task_id : s.row.task_id) : null;
  return (
    <>
      <h1>Run {id}</h1>
      <Loading loaded={state}>
        {(st) => (
          <>
            <Summary state={st} />
            <Waited state={st} />
          </>
        )}
      </Loading>
      {task && (
        <>
          <h2>Attempts of this entry</h2>
          <Attempts id={id} task={task} />
        </>
      )}
      {s && (s.phase === 'done' || s.phase === 'running') && (
        <>
          <h2>Output</h2>
          <Log key={`${id}:${s.phase}`} id={id} live={s.phase === 'running'} ended={state.reload} />
        </>
      )}
    </>
  );
}
