// Building blocks every page uses: the session (who is logged in, with which scope), action
// buttons offered only to a scope that may use them, tiles, what shows while data loads.
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useState } from 'preact/hooks';
import { messageOf } from './api';
import type { Loaded } from './data';
import type { Scope, Session } from './types';

export const SessionContext = createContext<Session | null>(null);

const RANK: Record<Scope, number> = { read: 0, operate: 1, admin: 2 };

/** Whether the logged-in token's scope allows what needs `scope` (read < operate < admin). */
export function useCan(scope: Scope): boolean {
  const session = useContext(SessionContext);
  return session !== null && RANK[session.scope] >= RANK[scope];
}

/** A button for a write: busy while it runs, its error beside it, then `done` (usually a reload). */
export function Action(props: {
  label: string;
  run: () => Promise<unknown>;
  done?: () => void;
  confirm?: string;
  danger?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const click = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(null);
    try {
      await props.run();
      props.done?.();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={props.danger ? 'danger' : undefined} disabled={busy} onClick={click}>
        {props.label}
      </button>
      {error && <span class="error-text">{error}</span>}
    </span>
  );
}

export function ErrorNote({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Loading<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (loaded.data === undefined) return loaded.error ? <ErrorNote error={loaded.error} /> : <p class="muted">Loading…</p>;
  return (
    <>
      <ErrorNote error={loaded.error} />
      {children(loaded.data)}
    </>
  );
}

export function Tile(props: { label: string; value: ComponentChildren; note?: ComponentChildren; tone?: 'ok' | 'bad' | 'warn' }) {
  return (
    <div class={`tile${props.tone ? ` tone-${props.tone}` : ''}`}>
      <div class="tile-label">{props.label}</div>
      <div class="tile-value">{props.value}</div>
      {props.note !== undefined && <div class="tile-note">{props.note}</div>}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}
