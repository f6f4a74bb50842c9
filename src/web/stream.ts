// One EventSource for the whole app (GET /api/v1/stream): pages subscribe to what changes while
// they are open instead of polling. The browser reconnects by itself after a drop; pages then
// hear 'resync', since events sent while disconnected are lost.
import { useEffect, useRef } from 'preact/hooks';
import type { StreamEvent } from './types';

export type StreamMessage = StreamEvent | { type: 'resync' };
type Listener = (m: StreamMessage) => void;

const TYPES = ['queued', 'started', 'finished'] as const;
const listeners = new Set<Listener>();
let source: EventSource | null = null;

function emit(m: StreamMessage): void {
  for (const l of listeners) l(m);
}

export function openStream(): void {
  if (source) return;
  const s = new EventSource('/api/v1/stream');
  let dropped = false;
  for (const type of TYPES) {
    s.addEventListener(type, (e) => {
      try {
        emit({ ...(JSON.parse((e as MessageEvent<string>).data) as Omit<StreamEvent, 'type'>), type });
      } catch {
        /* a malformed event carries nothing to show */
      }
    });
  }
  s.addEventListener('error', () => (dropped = true));
  s.addEventListener('open', () => {
    if (dropped) emit({ type: 'resync' });
    dropped = false;
  });
  source = s;
}

export function closeStream(): void {
  source?.close();
  source = null;
}

/** Calls `fn` on every stream message while the component is mounted (always its latest version). */
export function useStream(fn: Listener): void {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    const l: Listener = (m) => latest.current(m);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
}
