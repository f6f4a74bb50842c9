// Data from the API that stays current while a page is open: reloaded when the stream announces
// a change it shows, and on a timer for what no event announces.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from './api';
import { type StreamMessage, useStream } from './stream';

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
  const busy = useRef(false);
  useEffect(() => {
    let current = true;
    busy.current = true;
    loader
      .current()
      .then(
        (data) => current && setState({ key, data, error: null }),
        (err: unknown) => current && setState((s) => ({ key, data: s.key === key ? s.data : undefined, error: messageOf(err) })),
      )
      .finally(() => current && (busy.current = false));
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
    // A slow server is not asked again while it is still answering.
    const t = setInterval(() => busy.current || reload(), refresh.everyMs);
    return () => clearInterval(t);
  }, [refresh.everyMs, reload]);
  return { data: state.key === key ? state.data : undefined, error: state.error, reload };
}
