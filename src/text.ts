import * as fs from 'node:fs';

/**
 * Text from the home or the command line shown on a terminal or in a log.
 * A task name, handler or error may hold anything; printed raw, a newline
 * would fake a row of `list` and an escape sequence would recolour or clear
 * the terminal of whoever reads it. JSON output needs none of this
 * (JSON.stringify escapes control characters).
 */

// C0 controls (tab and newline included: one value stays on one line), DEL,
// C1 controls (0x9b is a one-byte CSI on some terminals) and the bidi
// controls that reorder what follows them on screen.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text with every control character written as an escape (\n, \x1b, \u202e). */
export function printable(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const n = ch.charCodeAt(0);
    return NAMED[ch] ?? (n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`);
  });
}

const STRICT = new TextDecoder('utf-8', { fatal: true });

/**
 * About where the first sequence that is not UTF-8 starts (within its 3 bytes;
 * enough to name a line), or -1: a lossy round trip differs from the bytes
 * first there.
 */
export function invalidUtf8At(bytes: Uint8Array): number {
  if (strictUtf8(bytes) !== null) return -1;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const again = Buffer.from(buf.toString('utf8'));
  let i = 0;
  while (i < buf.length && buf[i] === again[i]) i++;
  return i;
}

/** The bytes, decoded, when they are all UTF-8; null otherwise. */
export function strictUtf8(bytes: Uint8Array): string | null {
  try {
    return STRICT.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The first command-line argument that was not UTF-8, shown with its bad
 * bytes as \\xNN escapes; null if all were. Node has already decoded argv,
 * replacing such bytes by U+FFFD, so only the kernel's copy
 * (/proc/self/cmdline) can tell; the user's arguments are its last ones.
 */
export function nonUtf8Argument(argv: string[]): string | null {
  if (!argv.some((a) => a.includes('\ufffd'))) return null;
  let raw: Buffer;
  try {
    raw = fs.readFileSync('/proc/self/cmdline');
  } catch {
    return null;
  }
  const args = splitNul(raw);
  for (const bytes of args.slice(Math.max(0, args.length - (argv.length - 2)))) {
    if (strictUtf8(bytes) === null)
      return [...bytes]
        .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
        .join('');
  }
  return null;
}

function splitNul(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0) {
      out.push(raw.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < raw.length) out.push(raw.subarray(start));
  return out;
}
