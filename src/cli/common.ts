import type { ChalkInstance } from 'chalk';
import type TableType from 'cli-table3';
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Context } from '../context.js';
import { InputError, RunError } from '../errors.js';
import type { Checks } from '../store/check.js';
import type { Store } from '../store/store.js';
import { openStore } from '../store/open.js';
import { pinnedClock } from '../time.js';
import { settings } from '../config.js';
import { checkPayloadSize } from '../run/exec-limits.js';
import { printable } from '../text.js';

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

/** An empty --home or CONDUCTOR_HOME would resolve to the current directory: refused, never guessed. */
export function homeDir(g: GlobalOptions): string {
  if (g.home === '') throw new InputError('--home is empty: name the home directory, e.g. --home /srv/app/.conductor');
  const fromEnv = settings().home;
  if (g.home === undefined && fromEnv === '') {
    throw new InputError('CONDUCTOR_HOME is set but empty: name the home directory, or unset it to use ./.conductor');
  }
  return path.resolve(g.home ?? fromEnv ?? '.conductor');
}

/**
 * Opens the store (creating the home on first use) with the real or injected
 * clock. Verbs that never compute a time from a schedule (queue, trigger and
 * status: called from scripts, where start-up counts) pass 'light' checks
 * (see Checks); the others check every field in full.
 */
export async function openContext(cmd: Command, checks: Checks = 'full', home: HomeUse = 'create'): Promise<Context> {
  const g = globals(cmd);
  const clock = pinnedClock(settings().now);
  const dir = homeDir(g);
  const url = storeUrl(g);
  if (home !== 'create') requireHome(dir, url, home);
  const store = openStore(dir, url, checks, settings().leaseMs);
  opened.push(store);
  await store.init();
  return { store, clock, maxEventDepth: settings().maxEventDepth };
}

/**
 * What a verb does with a home that is not there: `create` it (verbs that write), refuse with
 * exit 1 (`existing`: verbs that only read, or only remove), or answer that the id it was given is
 * unknown, exit 2 (`unknown`: verbs about one schedule or entry), creating nothing.
 */
export type HomeUse = 'create' | 'existing' | { unknown: string };

/**
 * A verb that only reads (or only removes, as prune) never creates a home: run in the wrong
 * folder, it would answer "no schedules" from a fresh, empty one, or fill a project folder named
 * by mistake with the home's folders. An empty folder is a home not yet used. The PostgreSQL store
 * keeps its state in the database; its local folder is made when needed.
 */
function requireHome(home: string, url: string | undefined, use: Exclude<HomeUse, 'create'>): void {
  if (url !== undefined && url !== '' && url !== 'file') return;
  if (looksLikeHome(home)) return;
  const where = `no conductor home at ${home} (set --home or CONDUCTOR_HOME)`;
  if (use === 'existing') throw new RunError(where);
  throw new InputError(`${use.unknown}: there is ${where}`);
}

function looksLikeHome(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    // Not a folder, or unreadable: the store says what is wrong with it.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  return names.length === 0 || names.includes('schedules') || names.includes('state');
}

/** --store, else CONDUCTOR_STORE; the home's own store when neither is set. */
export function storeUrl(g: GlobalOptions): string | undefined {
  return g.store ?? settings().store;
}

const opened: Store[] = [];

/** What any verb set aside and has not reported yet: said at exit, even when the verb failed. */
export function reportLeftProblems(): void {
  for (const store of opened) reportProblems({ store });
}

export function useColor(g: GlobalOptions): boolean {
  // TERM=dumb: a terminal that understands no escape sequences (Emacs shell buffers, some CI logs).
  if (g.color === false || settings().noColor) return false;
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
  c.level = useColor(g) ? c.level || 1 : 0;
  return c;
}

/** Indented for a person at a terminal; compact for pipes (a 100,000-entry status is 4x smaller). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, process.stdout.isTTY ? 2 : undefined) + '\n');
}

/** A table cell coloured by us: its escape sequences are ours, so it is printed as it is. */
export interface Styled {
  styled: string;
}

export const styled = (text: string): Styled => ({ styled: text });

function cellText(v: string | number | null | undefined | Styled): string {
  if (v === null || v === undefined) return '-';
  return typeof v === 'object' ? v.styled : printable(String(v));
}

/**
 * A boxed table on a terminal; plain aligned columns for pipes and scripts.
 * Every cell but a Styled one is made printable, so no stored text can add a
 * row or send the terminal an escape sequence.
 */
export function printTable(head: string[], rows: (string | number | null | Styled)[][]): void {
  const tty = Boolean(process.stdout.isTTY);
  const Table = require('cli-table3') as typeof TableType;
  const c = chalk();
  const table = tty
    ? new Table({ head: head.map((h) => c.bold(h)), style: { head: [], border: [], compact: true } })
    : new Table({
        head,
        chars: {
          top: '',
          'top-mid': '',
          'top-left': '',
          'top-right': '',
          bottom: '',
          'bottom-mid': '',
          'bottom-left': '',
          'bottom-right': '',
          left: '',
          'left-mid': '',
          mid: '',
          'mid-mid': '',
          right: '',
          'right-mid': '',
          middle: '  ',
        },
        style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
      });
  for (const r of rows) table.push(r.map(cellText));
  process.stdout.write(
    table
      .toString()
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n') + '\n',
  );
}

/** Warnings about files set aside go to stderr so JSON on stdout stays clean. */
/**
 * One line on stderr. Warnings and errors keep the form `conductor: ...` at the start of the line
 * everywhere (scripts match it); only process's stdout lines get a timestamp in a log.
 */
export function warn(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function reportProblems(ctx: Pick<Context, 'store'>): void {
  const problems = ctx.store.problems;
  const SHOWN = 10;
  for (const p of problems.slice(0, SHOWN)) {
    warn(printable(`conductor: warning: ${p.file}: ${p.reason}${p.moved_to ? `; moved to ${p.moved_to}` : ''}`));
  }
  if (problems.length > SHOWN) {
    warn(`conductor: warning: ${problems.length - SHOWN} more unreadable files moved to quarantine/ (see 'conductor health')`);
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

/**
 * A working directory that is not there yet is allowed (it may be made by a
 * deploy before the first run), but said at once: a run that finds it missing
 * fails naming it. A relative one depends on where `process` runs: not checked.
 */
export function warnMissingCwd(defs: { task_id: string; cwd?: string | null }[]): void {
  for (const d of defs) {
    if (!d.cwd || !path.isAbsolute(d.cwd)) continue;
    let dir = false;
    try {
      dir = fs.statSync(d.cwd).isDirectory();
    } catch {
      /* missing or unreadable: warned below */
    }
    if (!dir)
      process.stderr.write(
        `conductor: warning: ${printable(d.task_id)}: working directory ${printable(d.cwd)} does not exist (yet); its runs fail until it does\n`,
      );
  }
}
