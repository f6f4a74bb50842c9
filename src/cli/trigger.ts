import type { Command } from 'commander';
import { eventDepthCap, triggerEvent } from '../app/events.js';
import { settings } from '../config.js';
import { InputError } from '../errors.js';
import { checkEventName } from '../events/match.js';
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
      const cap = eventDepthCap(ctx);
      const raw = settings().eventDepth;
      const inherited = inheritedDepth(raw);
      const { document, note } = await triggerEvent(ctx, { event, payload, depth: inherited ?? cap + 1 });
      const said =
        inherited === null
          ? `CONDUCTOR_EVENT_DEPTH '${raw}' is not a non-negative integer: counted as past the cap ${cap}; '${event}' not delivered`
          : note;
      if (said) process.stderr.write(`conductor: ${printable(said)}\n`);
      if (globals(cmd).json) printJson(document);
      else
        process.stdout.write(
          `${event}: ${document.queued.length} queued${document.queued.length ? ` (${document.queued.join(', ')})` : ''}\n`,
        );
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
