// Small pieces the schedule pages share: a row of outcome marks, the breaker's state.
import { localTime } from '../format';
import { pageHref } from '../router';
import type { BreakerState, Execution } from '../types';

/** One mark per run, oldest left; each links to its run and names it in a tooltip. */
export function Outcomes({ runs }: { runs: Execution[] }) {
  if (runs.length === 0) return <span class="muted">no runs yet</span>;
  return (
    <span class="outcomes" aria-label={`last ${runs.length} outcomes`}>
      {[...runs].reverse().map((r) => (
        <a
          key={r.execution_id}
          href={pageHref.run(r.execution_id)}
          class={`mark status-${r.status}`}
          title={`${r.status} at ${localTime(r.started_at)} (${r.started_at})`}
        >
          <span class="sr">{r.status}</span>
        </a>
      ))}
    </span>
  );
}

export function Breaker({ state }: { state: BreakerState }) {
  return <span class={`badge breaker-${state}`}>{state}</span>;
}
