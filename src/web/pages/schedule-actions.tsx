// The writes on a schedule (operate scope): enable or disable it, queue a run now.
import { enc, post } from '../api';
import type { Schedule } from '../types';
import { Action, useCan } from '../ui';

export function ScheduleActions({ s, done }: { s: Schedule; done: () => void }) {
  if (!useCan('operate')) return null;
  const path = `/schedules/${enc(s.task_id)}`;
  return (
    <span class="actions">
      {s.enabled ? (
        <Action label="Disable" run={() => post(`${path}/disable`)} done={done} />
      ) : (
        <Action label="Enable" run={() => post(`${path}/enable`)} done={done} />
      )}
      <Action label="Run now" run={() => post(`${path}/queue`)} done={done} />
    </span>
  );
}
