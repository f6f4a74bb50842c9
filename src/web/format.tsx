// Times shown in the browser's zone, with the ISO value (as the API sent it) in a title; durations
// and outcomes in words and colours.
import type { RunStatus } from './types';

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function localTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : dateTime.format(ms);
}

/** The same instant in another zone (a schedule's), for times whose meaning is that zone's wall clock. */
export function zoneTime(iso: string, tz: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, {
      timeZone: tz,
      weekday: 'short',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZoneName: 'short',
    }).format(Date.parse(iso));
  } catch {
    return iso;
  }
}

export function Time({ iso, relative = false }: { iso: string | null | undefined; relative?: boolean }) {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={iso}>
      {relative ? fromNow(iso) : localTime(iso)}
    </time>
  );
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)} h ${m % 60} min`;
  return `${Math.floor(m / 1440)} d ${Math.floor((m % 1440) / 60)} h`;
}

/** "3 min ago", "in 2 h 5 min". */
export function fromNow(iso: string, now = Date.now()): string {
  const diff = Date.parse(iso) - now;
  if (Number.isNaN(diff)) return iso;
  if (Math.abs(diff) < 1000) return 'now';
  // Whole seconds: a relative time is read at a glance, and it is stale by the next second anyway.
  const rough = Math.abs(diff) < 60_000 ? `${Math.round(Math.abs(diff) / 1000)} s` : duration(Math.abs(diff));
  return diff > 0 ? `in ${rough}` : `${rough} ago`;
}

/** The outcomes a chart or a tile groups runs into. */
export type OutcomeGroup = 'ok' | 'failed' | 'other';

export function outcomeGroup(s: RunStatus): OutcomeGroup {
  if (s === 'success') return 'ok';
  if (s === 'failed' || s === 'timeout' || s === 'abandoned') return 'failed';
  return 'other';
}

export function Outcome({ status }: { status: RunStatus | 'running' | 'queued' }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}
