/** Chains stop here: an event caused by an event caused by ... this many times. */
export const DEFAULT_MAX_DEPTH = 8;

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/**
 * Does a listener (`backup.*`, `task.failed`, `task.completed:backup-daily`)
 * hear this event? A `:ID` suffix narrows a task event to one task.
 */
export function listens(listener: string, event: string, taskId: string | null): boolean {
  const colon = listener.indexOf(':');
  const name = colon >= 0 ? listener.slice(0, colon) : listener;
  const onlyTask = colon >= 0 ? listener.slice(colon + 1) : null;
  if (onlyTask !== null && onlyTask !== taskId) return false;
  return name.includes('*') ? globToRegExp(name).test(event) : name === event;
}

export function checkEventName(event: string): string | null {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(event)) {
    return `invalid event name '${event}': use letters, digits, '.', '_' and '-'`;
  }
  return null;
}
