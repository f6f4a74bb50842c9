import * as os from 'node:os';
import { InputError } from '../errors.js';

/**
 * What the kernel lets one exec carry. Linux limits each argument and each
 * environment string to MAX_ARG_STRLEN (32 pages: 128 KiB, with its NUL), and
 * all of them together to a quarter of the stack limit. Handlers run as
 * `/bin/sh -c HANDLER` with the payload in CONDUCTOR_PAYLOAD, so the handler,
 * each `K=V` and the payload must each fit one string; the total can only be
 * judged at run time, where an exec that fails is a failed run naming why.
 */
export const MAX_ARG_STRLEN = 128 * 1024;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

export const MAX_PAYLOAD_BYTES = MAX_ARG_STRLEN - 1 - bytes('CONDUCTOR_PAYLOAD=');

/** `what`: how the caller named the payload (`--payload` on the command line, a request's body over HTTP). */
export function checkPayloadSize(payload: string, what = '--payload'): void {
  const n = bytes(payload);
  if (n > MAX_PAYLOAD_BYTES) {
    throw new InputError(
      `invalid ${what}: ${n} bytes, at most ${MAX_PAYLOAD_BYTES} (Linux passes it as one environment string, limited to 128 KiB)`,
    );
  }
}

export function checkHandlerSize(handler: string): void {
  const n = bytes(handler);
  if (n > MAX_ARG_STRLEN - 1)
    throw new InputError(`invalid handler: ${n} bytes, at most ${MAX_ARG_STRLEN - 1} (Linux limits one argument to 128 KiB)`);
}

export function checkEnvSize(name: string, value: string): void {
  const n = bytes(`${name}=${value}`);
  if (n > MAX_ARG_STRLEN - 1) {
    throw new InputError(
      `invalid env '${name}': ${n} bytes as ${name}=value, at most ${MAX_ARG_STRLEN - 1} (Linux limits one environment string to 128 KiB)`,
    );
  }
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n as number, name]));

const WHY: Record<string, string> = {
  E2BIG:
    'argument list too long (E2BIG): the handler, its environment and the payload pass what the kernel takes in one exec (128 KiB per string, a quarter of the stack limit in all)',
};

/** The `error` of an execution whose handler could not be started: one line naming the reason. */
export function execFailure(errnoOrCode: number | string, message: string): string {
  const code = typeof errnoOrCode === 'number' ? ERRNO_NAMES.get(errnoOrCode) : errnoOrCode;
  const why = (code && WHY[code]) ?? `${message.toLowerCase()}${code ? ` (${code})` : ''}`;
  return `could not start the handler: ${why}`;
}
