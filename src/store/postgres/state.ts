import { pidFileIn } from '../policy.js';
import type { EventRecord, StateStore } from '../roles.js';
import type { PgSession } from './session.js';

export const INSERT_EVENT = 'INSERT INTO conductor.events (body) VALUES ($1)';

/** conductor.state (named documents, `paused`), conductor.events; the pid file stays in the local home. */
export function pgState(s: PgSession): StateStore {
  const readState = async <T>(name: string): Promise<T | null> =>
    (await s.q('SELECT body FROM conductor.state WHERE name = $1', [name]))[0]?.body ?? null;
  const writeState = async (name: string, value: unknown): Promise<void> => {
    await s.q('INSERT INTO conductor.state (name, body) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET body = $2', [
      name,
      JSON.stringify(value),
    ]);
  };
  return {
    readState,
    writeState,

    async isPaused(): Promise<boolean> {
      return (await readState('paused')) !== null;
    },

    async setPaused(paused: boolean, at: string): Promise<void> {
      if (paused) await writeState('paused', { at });
      else await s.q(`DELETE FROM conductor.state WHERE name = 'paused'`);
    },

    async appendEvent(rec: EventRecord): Promise<void> {
      await s.q(INSERT_EVENT, [JSON.stringify(rec)]);
    },

    async listEvents(limit: number): Promise<EventRecord[]> {
      return (await s.q('SELECT body FROM conductor.events ORDER BY id DESC LIMIT $1', [limit])).map(
        (r) => r.body as EventRecord,
      );
    },

    pidFile(): string {
      return pidFileIn(s.home);
    },
  };
}
