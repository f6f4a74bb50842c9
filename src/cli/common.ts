import type { ChalkInstance } from 'chalk';
import type TableType from 'cli-table3';
import type { Command } from 'commander';
import * as path from 'node:path';
import type { Context } from '../context.js';
import { InputError } from '../errors.js';
import type { Checks } from '../store/check.js';
import type { Store } from '../store/store.js';
import { openStore } from '../store/open.js';
import { clockFromEnv } from '../time.js';
import { checkPayloadSize } from '../run/exec-limits.js';

export interface GlobalOptions {
  home?: string;
  store?: string;
  json?: boolean;
  color?: boolean;
}

/** Global options may stand before or after the verb; merge what commander saw at both levels. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function homeDir(g: GlobalOptions): string {
  return path.resolve(g.home ?? process.env.CONDUCTOR_HOME ?? '.conductor');
}

/**
 * Opens the store (creating the home on first use) with the real or injected
 * clock. Verbs that never compute a time from a schedule (queue, trigger and
 * status: called from scripts, where start-up counts) pass 'light' checks
 * (see Checks); the others check every field in full.
 */
export async function openContext(cmd: Command, checks: Checks = 'full'): Promise<Context> {
  const g = globals(cmd);
  const clock = clockFromEnv();
  const store = openStore(homeDir(g), g.store ?? process.env.CONDUCTOR_STORE, checks);
  opened.push(store);
  await store.init();
  return { store, clock };
}

const opened: Store[] = [];

/** What any verb set aside and has not reported yet: said at exit, even when the verb failed. */
export function reportLeftProblems(): void {
  for (const store of opened) reportProblems({ store });
}

export function useColor(g: GlobalOptions): boolean {
  if (g.color === false || 'NO_COLOR' in process.env) return false;
  return Boolean(process.stdout.isTTY);
}

// chalk and cli-table3 load on first use: scripts calling `queue` or `trigger` never need them.
let chalkLib: ChalkInstance | null = null;
function chalk(): ChalkInstance {
  chalkLib ??= (require('chalk') as typeof import('chalk')).default;
  return chalkLib;
}

export function setupColor(g: GlobalOptions): ChalkInstance {
  const c = chalk();
  c.level = useColor(g) ? (c.level || 1) : 0;
  return c;
}

/** Indented for a person at a terminal; compact for pipes (a 100,000-entry status is 4x smaller). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, process.stdout.isTTY ? 2 : undefined) + '\n');
}

/** A boxed table on a terminal; plain aligned columns for pipes and scripts. */
export function printTable(head: string[], rows: (string | number | null)[][]): void {
  const tty = Boolean(process.stdout.isTTY);
  const Table = require('cli-table3') as typeof TableType;
  const c = chalk();
  const table = tty
    ? new Table({ head: head.map((h) => c.bold(h)), style: { head: [], border: [], compact: true } })
    : new Table({
        head,
        chars: {
          top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
          'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
        },
        style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
      });
  for (const r of rows) table.push(r.map((v) => (v === null || v === undefined ? '-' : String(v))));
  process.stdout.write(table.toString().split('\n').map((l) => l.trimEnd()).join('\n') + '\n');
}

/** Warnings about files set aside go to stderr so JSON on stdout stays clean. */
export function reportProblems(ctx: Pick<Context, 'store'>): void {
  const problems = ctx.store.problems;
  const SHOWN = 10;
  for (const p of problems.slice(0, SHOWN)) {
    process.stderr.write(`conductor: warning: ${p.file}: ${p.reason}${p.moved_to ? `; moved to ${p.moved_to}` : ''}\n`);
  }
  if (problems.length > SHOWN) {
    process.stderr.write(`conductor: warning: ${problems.length - SHOWN} more unreadable files moved to quarantine/ (see 'conductor health')\n`);
  }
  problems.length = 0;
}

export function parseJsonPayload(text: string | undefined): string | null {
  if (text === undefined) return null;
  try {
    JSON.parse(text);
  } catch (err) {
    throw new InputError(`invalid --payload: not valid JSON (${(err as Error).message})`);
  }
  checkPayloadSize(text);
  return text;
}

export function requireSchedule<T>(value: T | null, id: string): T {
  if (value === null) throw new InputError(`unknown task id '${id}'`);
  return value;
}
