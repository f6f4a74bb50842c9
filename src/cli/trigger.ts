import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { checkEventName } from '../events/match.js';
import { trigger } from '../tasks.js';
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
      // Inside a handler the chain goes on: one step deeper than the run that triggers.
      const inherited = Number(process.env.CONDUCTOR_EVENT_DEPTH);
      const depth = process.env.CONDUCTOR_EVENT_DEPTH && Number.isInteger(inherited) ? inherited + 1 : 0;
      const res = await trigger(ctx, event, payload, depth, null);
      if (res.note) process.stderr.write(`conductor: ${res.note}\n`);
      if (globals(cmd).json) printJson({ event: res.event, queued: res.queued });
      else process.stdout.write(`${event}: ${res.queued.length} queued${res.queued.length ? ` (${res.queued.join(', ')})` : ''}\n`);
    });
}
