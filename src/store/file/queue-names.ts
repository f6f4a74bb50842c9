import { msOfTimeOrderedId } from '../../ids.js';
import type { Entry, EntrySource, QueuedRef } from '../../model.js';

/**
 * queue/<entry_id>~p<priority>~a<attempt>~<flags>~n<not_before_ms>~<task_id>.json
 * ('~' cannot occur in an id). The entry id begins with its enqueue time, so
 * the name carries everything ranking and listing need.
 */
const SOURCE_CODE: Record<EntrySource, string> = { manual: 'm', schedule: 's', event: 'e', retry: 'r', 'dlq-retry': 'd' };
const CODE_SOURCE = Object.fromEntries(Object.entries(SOURCE_CODE).map(([k, v]) => [v, k])) as Record<string, EntrySource>;

export function queueName(e: Entry): string {
  const flags = `${SOURCE_CODE[e.source] ?? 'm'}${e.group ? 'g' : ''}`;
  const nb = e.not_before ? Date.parse(e.not_before) : 0;
  return `${e.entry_id}~p${e.priority}~a${e.attempt}~${flags}~n${nb}~${e.task_id}.json`;
}

// Only what queueName writes of a valid entry: priority 1..10, attempt from 1, a known source. A name
// outside this never parses, so its file is looked at (and refiled or quarantined), never left unseen.
const NAME =
  /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})~p([1-9]|10)~a([1-9]\d{0,5})~([mserd]g?)~n(\d{1,16})~([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.json$/;
const LATEST_MS = 8.64e15;

export function parseQueueName(name: string): QueuedRef | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const enqueued = msOfTimeOrderedId(m[1]);
  if (!Number.isFinite(enqueued)) return null;
  const nb = Number(m[5]);
  if (nb > LATEST_MS) return null;
  return {
    entry_id: m[1],
    task_id: m[6],
    priority: Number(m[2]),
    enqueued_ms: enqueued,
    attempt: Number(m[3]),
    not_before_ms: nb > 0 ? nb : null,
    source: CODE_SOURCE[m[4][0]] ?? 'manual',
    from_schedule: m[4][0] === 's',
    grouped: m[4].includes('g'),
    name,
  };
}
