// Where a run is: still queued (and why), running, or finished (its history record). History
// knows a run only once it has finished, so the queue is asked first: that also spares a 404.
import { ApiError, enc, getJson } from '../api';
import type { Execution, QueueRow } from '../types';
import { executionOf } from '../entries';

export type RunState =
  | { phase: 'waiting'; row: QueueRow }
  | { phase: 'running'; row: QueueRow }
  | { phase: 'done'; record: Execution }
  | { phase: 'missing'; message: string };

/** The entry an execution id belongs to: `ENTRY.N`, N counting the entry's runs. */
export function entryOf(executionId: string): string {
  return executionId.replace(/\.\d+$/, '');
}

export async function runState(id: string): Promise<RunState> {
  const row = (await getJson<QueueRow[]>('/queue')).find((r) => r.entry_id === entryOf(id));
  if (row?.status === 'running' && executionOf(row) === id) return { phase: 'running', row };
  try {
    return { phase: 'done', record: await getJson<Execution>(`/runs/${enc(id)}`) };
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    if (row?.status === 'queued') return { phase: 'waiting', row };
    return { phase: 'missing', message: err.message };
  }
}
