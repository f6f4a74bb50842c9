/** Bad input: usage, validation, unknown or duplicate id. Exit code 2. */
export class InputError extends Error {
  readonly exitCode = 2;
}

/** Anything else that stops a command: I/O, a lock held too long. Exit code 1. */
export class RunError extends Error {
  readonly exitCode = 1;
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof InputError) return 2;
  return 1;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') return `no space left on device${pathOf(err)}`;
    if (code === 'EACCES' || code === 'EPERM') return `permission denied${pathOf(err)}`;
    if (code === 'ENOENT') return `no such file or directory${pathOf(err)}`;
    if (code === 'EROFS') return `read-only file system${pathOf(err)}`;
    if (code === 'EDQUOT') return `disk quota exceeded${pathOf(err)}`;
    if (code === 'ELOOP') return `a symbolic link where conductor follows none${pathOf(err)}`;
    return err.message.split('\n')[0];
  }
  return String(err);
}

function pathOf(err: Error): string {
  const p = (err as NodeJS.ErrnoException).path;
  return p ? `: ${p}` : '';
}
