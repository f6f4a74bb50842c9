import type { Command } from 'commander';
import { checkTokenRequest, createToken, listTokens, revokeToken } from '../app/tokens.js';
import { InputError } from '../errors.js';
import { checkId } from '../ids.js';
import { parseDuration } from '../time.js';
import { globals, openContext, printJson, printTable, warn } from './common.js';

/** Tokens are managed here, by whoever can write the home: an admin's local act, not an API call. */
export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens of conductor serve: create, list, revoke');
  // Without a subcommand commander would do nothing and exit 0: that is a usage error.
  token.action(() => {
    process.stderr.write(token.helpInformation());
    process.exitCode = 2;
  });
  token
    .command('create')
    .description('create a token and print its secret, once (only its hash is kept)')
    .argument('<name>')
    .option(
      '--scope <scope>',
      'read (reads), operate (also triggers, queues, cancels...), admin (also creates, applies and deletes)',
    )
    .option('--expires <dur>', 'it stops working this long from now, e.g. 90d (default: never)')
    .action(async (name: string, opts, cmd: Command) => {
      if (opts.scope === undefined) throw new InputError('token create needs --scope read, operate or admin');
      const expiresInMs = opts.expires === undefined ? undefined : parseDuration(opts.expires, '--expires');
      // Checked before the home is opened: a refused token creates nothing, not even a home.
      const req = checkTokenRequest({ name, scope: opts.scope, expiresInMs });
      const t = await createToken(await openContext(cmd), req);
      if (globals(cmd).json) {
        printJson(t);
        return;
      }
      process.stdout.write(`${t.token}\n`);
      warn(
        `conductor: token '${t.name}' (scope ${t.scope}, expires ${t.expires_at ?? 'never'}): store the secret now, it will not be shown again`,
      );
    });
  token
    .command('list')
    .description('list tokens (never their secrets)')
    .action(async (_opts, cmd: Command) => {
      const items = await listTokens(await openContext(cmd, 'full', 'existing'));
      if (globals(cmd).json) {
        printJson(items);
        return;
      }
      if (items.length === 0) {
        process.stdout.write('no tokens\n');
        return;
      }
      printTable(
        ['NAME', 'SCOPE', 'CREATED', 'EXPIRES'],
        items.map((t) => [t.name, t.scope, t.created_at, `${t.expires_at ?? 'never'}${t.expired ? ' (expired)' : ''}`]),
      );
    });
  token
    .command('revoke')
    .description('delete a token: it stops working at once')
    .argument('<name>')
    .action(async (name: string, _opts, cmd: Command) => {
      checkId(name, 'token name');
      const r = await revokeToken(await openContext(cmd, 'full', { unknown: `unknown token '${name}'` }), name);
      if (globals(cmd).json) printJson(r);
      else process.stdout.write(`revoked ${r.name}\n`);
    });
}
