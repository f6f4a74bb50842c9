import { DEFAULT_MAX_DEPTH } from './events/match.js';
import type { SpawnerChoice } from './run/launcher.js';

/**
 * Every environment variable conductor reads, read here once: the rest of the
 * program gets these settings as parameters (only this file and src/cli/ see
 * process.env). Values that can be wrong in a way the user must hear about
 * (CONDUCTOR_NOW, an empty CONDUCTOR_HOME) stay raw text here and are checked
 * where they are used, so a verb that never needs them never fails on them.
 */
export interface Settings {
  /** CONDUCTOR_HOME: the home when --home is not given ('' is refused by the CLI). */
  home: string | undefined;
  /** CONDUCTOR_STORE: postgres://... when --store is not given. */
  store: string | undefined;
  /** CONDUCTOR_LOG_CAP: bytes of a run's output kept in its log. */
  logCap: number;
  /** CONDUCTOR_PATIENCE_MS: how long a stopping dispatcher waits for its runs before saying so. */
  patienceMs: number;
  /** CONDUCTOR_LEASE_MS: how long another host's dispatcher may go without a heartbeat (PostgreSQL). */
  leaseMs: number;
  /** CONDUCTOR_MAX_EVENT_DEPTH: how deep a chain of triggers from handlers may go. */
  maxEventDepth: number;
  /** CONDUCTOR_EVENT_DEPTH: set by us in a handler's environment; raw, checked by `trigger`. */
  eventDepth: string | undefined;
  /** CONDUCTOR_SPAWNER=node: start handlers from Node instead of the Perl helper. */
  spawner: SpawnerChoice;
  /** CONDUCTOR_NOW: an ISO timestamp pinning the clock's start (tests, dry runs); raw, parsed by the clock. */
  now: string | undefined;
  /** CONDUCTOR_RESOURCES_FILE: CPU and memory readings from a file instead of /proc. */
  resourcesFile: string | undefined;
  /** TZ: the local time zone, when it names a valid one. */
  tz: string | undefined;
  /** NO_COLOR (set at all) or TERM=dumb: no colour even on a terminal. */
  noColor: boolean;
  /** CONDUCTOR_DEBUG: stack traces with errors. */
  debug: boolean;
  testHooks: TestHooks;
}

/** Settings only the test suite uses; production never sets them. */
export interface TestHooks {
  /** CONDUCTOR_TEST_HOST_ID: stands in for the boot id, so one machine can play several hosts. */
  hostId: string | undefined;
  /** CONDUCTOR_TEST_TICK_MS: the daemon's tick instead of a second (tests that tell a wake-up from a tick). */
  tickMs: number | undefined;
  /** CONDUCTOR_TEST_TICK_ONLY=1: the daemon does not watch the queue, as before instant start (the benchmark's baseline). */
  tickOnly: boolean;
}

export const DEFAULT_LOG_CAP = 1024 * 1024;
export const DEFAULT_PATIENCE_MS = 3000;
export const DEFAULT_LEASE_MS = 30_000;

/** A positive integer, else the default (the variables are for tests and tuning: no error). */
function positiveInt(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Any number but 0 or NaN, else the default. */
function nonZero(text: string | undefined, fallback: number): number {
  return Number(text) || fallback;
}

export function readSettings(env: NodeJS.ProcessEnv): Settings {
  return {
    home: env.CONDUCTOR_HOME,
    store: env.CONDUCTOR_STORE,
    logCap: nonZero(env.CONDUCTOR_LOG_CAP, DEFAULT_LOG_CAP),
    patienceMs: nonZero(env.CONDUCTOR_PATIENCE_MS, DEFAULT_PATIENCE_MS),
    leaseMs: positiveInt(env.CONDUCTOR_LEASE_MS, DEFAULT_LEASE_MS),
    maxEventDepth: positiveInt(env.CONDUCTOR_MAX_EVENT_DEPTH, DEFAULT_MAX_DEPTH),
    eventDepth: env.CONDUCTOR_EVENT_DEPTH,
    spawner: env.CONDUCTOR_SPAWNER === 'node' ? 'node' : 'perl',
    now: env.CONDUCTOR_NOW,
    resourcesFile: env.CONDUCTOR_RESOURCES_FILE || undefined,
    tz: env.TZ || undefined,
    noColor: 'NO_COLOR' in env || env.TERM === 'dumb',
    debug: Boolean(env.CONDUCTOR_DEBUG),
    testHooks: {
      hostId: env.CONDUCTOR_TEST_HOST_ID || undefined,
      tickMs: positiveInt(env.CONDUCTOR_TEST_TICK_MS, 0) || undefined,
      tickOnly: env.CONDUCTOR_TEST_TICK_ONLY === '1',
    },
  };
}

let current: Settings | null = null;

/** This process's settings, read on first use. */
export function settings(): Settings {
  current ??= readSettings(process.env);
  return current;
}
