import type { Command } from 'commander';
import * as path from 'node:path';
import { listTokens } from '../app/tokens.js';
import { settings } from '../config.js';
import { fileProbe, procProbe } from '../run/resources.js';
import { openContext } from './common.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API, webhooks and the dashboard (every request needs a token)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8787')
    .action(async (opts, cmd: Command) => {
      // The server and its framework load only here: `queue` and `trigger` never pay for them.
      const http = require('../http/server.js') as typeof import('../http/server.js');
      const listen = http.parseListen(opts.listen);
      const ctx = await openContext(cmd, 'full', 'existing');
      // Tokens and hooks are read from the home: one that others can write into could hand anyone a token.
      await ctx.store.trustForRun();
      const probe = settings().resourcesFile ? fileProbe(settings().resourcesFile!) : procProbe(1000);
      const server = await http.startServer(ctx, { listen, probe, webDir: path.join(__dirname, 'web') });
      if (!LOOPBACK.test(listen.host))
        process.stderr.write(
          'conductor: warning: serving plain HTTP beyond this machine: put it behind a TLS reverse proxy (see README)\n',
        );
      if ((await listTokens(ctx)).length === 0)
        process.stderr.write(
          'conductor: warning: no tokens yet, so every request is refused: conductor token create NAME --scope admin\n',
        );
      process.stdout.write(`listening on ${server.url}\n`);
      await untilSignalled();
      await server.close();
    });
}

function untilSignalled(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}
