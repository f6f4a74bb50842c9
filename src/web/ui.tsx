// Building blocks every page uses: the session (who is logged in, with which scope), loading data
// that refreshes itself, action buttons offered only to a scope that may use them, tiles.
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { type StreamMessage, useStream } from './stream';
import type { Scope, Session } from './types';

export const SessionContext = createContext<Session | null>(null);

const RANK: Record<Scope, number> = { read: 0, operate: 1, admin: 2 };

/** Whether the logged-in token's scope allows what needs `scope` (read < operate < admin). */
export function useCan(scope: Scope): boolean {
  const session = useContext(SessionContext);
  return session !== null && RANK[session.scope] >= RANK[scope];
}

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  reload: () => void;
}

interface Refresh {
  /** Reload when a stream message says something this data shows has changed. */
  on?: (m: StreamMessage) => boolean;
  /** Reload this often as well (what no event announces: load, blocked reasons). */
  everyMs?: number;
}

/** Stream messages reload data at once, then at most once a second: a busy home finishes runs faster than that. */
const THROTTLE_MS = 1000;

/**
 * Data from the API for a page: loaded when `key` changes, reloaded on matching stream messages
 * (a burst of them reloads once) and on a timer; the last good data stays shown meanwhile.
 */
export function useData<T>(load: () => Promise<T>, key: string, refresh: Refresh = {}): Loaded<T> {
  const [state, setState] = useState<{ key: string; data?: T; error: string | null }>({ key, error: null });
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    let current = true;
    loader.current().then(
      (data) => current && setState({ key, data, error: null }),
      (err: unknown) => current && setState((s) => ({ key, data: s.key === key ? s.data : undefined, error: messageOf(err) })),
    );
    return () => void (current = false);
  }, [key, version]);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const last = useRef(0);
  useStream((m) => {
    if (!refresh.on || !(m.type === 'resync' || refresh.on(m)) || pending.current) return;
    const wait = Math.max(0, last.current + THROTTLE_MS - Date.now());
    pending.current = setTimeout(() => {
      pending.current = null;
      last.current = Date.now();
      reload();
    }, wait);
  });
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);
  useEffect(() => {
    if (!refresh.everyMs) return;
    const t = setInterval(reload, refresh.everyMs);
    return () => clearInterval(t);
  }, [refresh.everyMs, reload]);
  return { data: state.key === key ? state.data : undefined, error: state.error, reload };
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
