/** Bad input: usage, validation, unknown or duplicate id. Exit code 2. */
export class InputError extends Error {
  readonly exitCode = 2;
}

/** An id that names nothing (a task, entry, execution, token): exit code 2, HTTP 404. */
export class NotFoundError extends InputError {}

/** Anything else that stops a command: I/O, a lock held too long. Exit code 1. */
export class RunError extends Error {
  readonly exitCode = 1;
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof InputError) return 2;
  return 1;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOENT: 'no such file or directory',
  EROFS: 'read-only file system',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'a symbolic link where conductor follows none',
};

export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const known = ERRNO_TEXT[(err as NodeJS.ErrnoException).code ?? ''];
    return known ? `${known}${pathOf(err)}` : err.message.split('\n')[0];
  }
  return String(err);
}

/** What the system said, without the path: for messages that name the path themselves. */
export function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as NodeJS.ErrnoException;
  const known = ERRNO_TEXT[e.code ?? ''];
  if (known) return known;
  // Node's "ECODE: what, syscall 'path'": the middle part.
  return e.code ? e.message.replace(/^[A-Z0-9]+: /, '').split(',')[0] : e.message.split('\n')[0];
}

function pathOf(err: Error): string {
  const p = (err as NodeJS.ErrnoException).path;
  return p ? `: ${p}` : '';
}
