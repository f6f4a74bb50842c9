import { Command, CommanderError } from 'commander';
import { exitCodeOf, messageOf } from './errors.js';
import { registerAll } from './cli/index.js';
import { reportLeftProblems, warn } from './cli/common.js';
import { settings } from './config.js';
import { applyTestHooks } from './test-hooks.js';
import { nonUtf8Argument, printable } from './text.js';

// A reader that goes away (`conductor list | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const program = new Command();
program
  .name('conductor')
  .description('A command-line task scheduler: cron, intervals, one-shots and events, with file-based state.')
  .version('0.1.0')
  .option('--home <dir>', 'state directory (default: $CONDUCTOR_HOME, else ./.conductor)')
  .option('--store <url>', 'postgres://... to share one queue between hosts (default: $CONDUCTOR_STORE, else the home)')
  .option('--json', 'machine-readable output')
  .option('--no-color', 'no colour, even on a terminal')
  .showHelpAfterError(false)
  .exitOverride()
  .configureOutput({
    writeErr: () => undefined,
    outputError: () => undefined,
  });

registerAll(program);
applyTestHooks(settings().testHooks);

// Every handler, env value and name is stored as text: bytes that are not
// UTF-8 would be changed (into U+FFFD) without a word. Refused instead.
const badArg = nonUtf8Argument(process.argv);
if (badArg !== null) {
  process.stderr.write(
    `conductor: argument '${badArg}' is not valid UTF-8: conductor stores text; write it in UTF-8 (or let the handler produce the bytes, e.g. printf '\\377')\n`,
  );
  process.exit(2);
}

// No verb at all is a usage error (exit 2), with the help on stderr; `--help` asks for it (exit 0).
if (process.argv.length <= 2) {
  process.stderr.write(program.helpInformation());
  process.exit(2);
}

function fail(err: unknown): never {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      process.exit(0);
    }
    process.stderr.write(`conductor: ${printable(err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '))}\n`);
    process.exit(2);
  }
  reportLeftProblems();
  warn(`conductor: ${printable(messageOf(err))}`);
  if (settings().debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(exitCodeOf(err));
}

/** Resolves once everything written so far to the stream has left the process. */
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));

// Every verb has finished its work when its action resolves, so exit as soon
// as output is flushed (a full pipe makes writes asynchronous): Node's
// orderly teardown would add ~10 ms to every crontab call.
program.parseAsync(process.argv).then(async () => {
  reportLeftProblems();
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(process.exitCode ?? 0);
}, fail);
