import type { Command } from 'commander';
import * as verbs from './verbs.js';

// A Map, not an object: a verb typed as `__proto__` or `constructor` must not find Object's own members.
const BY_NAME = new Map<string, (p: Command) => void>(
  Object.entries({
    create: verbs.registerCreate,
    list: verbs.registerList,
    get: verbs.registerGet,
    enable: verbs.registerEnable,
    disable: verbs.registerDisable,
    delete: verbs.registerDelete,
    queue: verbs.registerQueue,
    trigger: verbs.registerTrigger,
    process: verbs.registerProcess,
    status: verbs.registerStatus,
    history: verbs.registerHistory,
    logs: verbs.registerLogs,
    prune: verbs.registerPrune,
    stats: verbs.registerStats,
    cancel: verbs.registerCancel,
    pause: verbs.registerPause,
    resume: verbs.registerResume,
    dlq: verbs.registerDlq,
    next: verbs.registerNext,
    apply: verbs.registerApply,
    validate: verbs.registerValidate,
    events: verbs.registerEvents,
    health: verbs.registerHealth,
    serve: verbs.registerServe,
    token: verbs.registerToken,
    hook: verbs.registerHook,
    migrate: verbs.registerMigrate,
    export: verbs.registerExport,
    import: verbs.registerImport,
  }),
);

const GLOBAL_WITH_VALUE = new Set(['--home', '--store']);

/** The verb named on the command line, skipping global options before it. */
function verbOf(argv: string[]): string | null {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (GLOBAL_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return null;
}

/**
 * Registers the verb being run, or every verb when none is recognised (help,
 * typos): building all twenty commands costs a few milliseconds of every
 * crontab call.
 */
export function registerAll(program: Command, argv: string[] = process.argv): void {
  const verb = verbOf(argv);
  const only = verb ? BY_NAME.get(verb) : undefined;
  if (only && !argv.includes('--help') && !argv.includes('-h')) {
    only(program);
    return;
  }
  for (const register of Object.values(verbs)) register(program);
}
