import type { Command } from 'commander';
import { checkHookRequest, createHook, listHooks, revokeHook } from '../app/hooks.js';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { globals, openContext, printJson, printTable, warn } from './common.js';

/** Webhooks are managed here, by whoever can write the home, as tokens are. */
export function registerHook(program: Command): void {
  const hook = program.command('hook').description('webhooks of conductor serve: POST /hooks/NAME, signed, triggers an event');
  // Without a subcommand commander would do nothing and exit 0: that is a usage error.
  hook.action(() => {
    process.stderr.write(hook.helpInformation());
    process.exitCode = 2;
  });
  hook
    .command('create')
    .description('create a webhook and print its signing secret, once')
    .argument('<name>')
    .option('--event <event>', 'the event a signed POST /hooks/NAME triggers, its body the payload')
    .action(async (name: string, opts, cmd: Command) => {
      if (opts.event === undefined) throw new InputError('hook create needs --event EVENT, e.g. --event deploy.requested');
      // Checked before the home is opened: a refused hook creates nothing, not even a home.
      const req = checkHookRequest({ name, event: opts.event });
      const h = await createHook(await openContext(cmd), req);
      if (globals(cmd).json) {
        printJson(h);
        return;
      }
      process.stdout.write(`${h.secret}\n`);
      warn(
        `conductor: hook '${h.name}' (POST ${h.path} triggers ${h.event}): give the secret to the sender now, it will not be shown again`,
      );
    });
  hook
    .command('list')
    .description('list webhooks (never their secrets)')
    .action(async (_opts, cmd: Command) => {
      const items = await listHooks(await openContext(cmd, 'full', 'existing'));
      if (globals(cmd).json) {
        printJson(items);
        return;
      }
      if (items.length === 0) {
        process.stdout.write('no hooks\n');
        return;
      }
      printTable(
        ['NAME', 'EVENT', 'PATH', 'CREATED'],
        items.map((h) => [h.name, h.event, h.path, h.created_at]),
      );
    });
  hook
    .command('revoke')
    .description('delete a webhook: its requests are refused at once')
    .argument('<name>')
    .action(async (name: string, _opts, cmd: Command) => {
      checkId(name, 'hook name');
      const r = await revokeHook(await openContext(cmd, 'full', { unknown: `unknown hook '${name}'` }), name);
      if (globals(cmd).json) printJson(r);
      else process.stdout.write(`revoked ${r.name}\n`);
    });
}
