import { settings } from '../config.js';
import type { Command } from 'commander';
import { openStore } from '../store/open.js';
import { globals, homeDir, printJson, storeUrl } from './common.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description("create or upgrade the store's schema (PostgreSQL); safe to run again")
    .action(async (_opts, cmd: Command) => {
      const g = globals(cmd);
      // Not openContext: that refuses a database whose schema is older than this conductor.
      const store = openStore(homeDir(g), storeUrl(g), 'full', settings().leaseMs);
      try {
        const [from, to] = await store.migrate();
        if (g.json)
          printJson({ store: store.kind, location: store.location, from_version: from, to_version: to, applied: to - from });
        else if (from === to) process.stdout.write(`${store.kind} store ${store.location}: schema version ${to}, up to date\n`);
        else process.stdout.write(`${store.kind} store ${store.location}: schema version ${from} -> ${to}\n`);
      } finally {
        await store.close();
      }
    });
}
