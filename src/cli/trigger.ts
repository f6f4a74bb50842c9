import type { Command } from 'commander';
import { settings } from '../config.js';
import { InputError } from '../errors.js';
import { checkEventName } from '../events/match.js';
import { maxDepth, trigger } from '../tasks.js';
import { printable } from '../text.js';
import { globals, openContext, parseJsonPayload, printJson } from './common.js';

export function registerTrigger(program: Command): void {
  program
    .command('trigger')
    .description('queue every enabled event schedule listening to EVENT')
    .argument('<event>', 'event name, e.g. webhook.received')
    .option('--payload <json>', 'JSON handed to the handlers as CONDUCTOR_PAYLOAD')
    .action(async (event: string, opts, cmd: Command) => {
      const bad = checkEventName(event);
      if (bad) throw new InputError(bad);
      const payload = parseJsonPayload(opts.payload);
      const ctx = await openContext(cmd, 'light');
      const raw = settings().eventDepth;
      const inherited = inheritedDepth(raw);
      const depth = inherited === null ? maxDepth() + 1 : inherited;
      const res = await trigger(ctx, event, payload, depth, null);
      const note = inherited === null
        ? `CONDUCTOR_EVENT_DEPTH '${raw}' is not a non-negative integer: counted as past the cap ${maxDepth()}; '${event}' not delivered`
        : res.note;
      if (note) process.stderr.write(`conductor: ${printable(note)}\n`);
      if (globals(cmd).json) printJson({ event: res.event, queued: res.queued });
      else process.stdout.write(`${event}: ${res.queued.length} queued${res.queued.length ? ` (${res.queued.join(', ')})` : ''}\n`);
    });
}

/**
 * Inside a handler the chain goes on one step deeper than the run that
 * triggers; outside one it starts at 0. A value that is not a depth we wrote
 * (negative, a fraction, a word) cannot be trusted to be shallow, and a chain
 * that resets its own depth would loop for ever: null, counted as too deep.
 * (Refusing with exit 2 would stop the handler's script instead of the chain.)
 */
function inheritedDepth(value: string | undefined): number | null {
  if (value === undefined || value === '') return 0;
  return /^\d{1,9}$/.test(value) ? Number(value) + 1 : null;
}
