import { InputError } from '../errors.js';
import type { Checks } from './check.js';
import { FileStore } from './file/index.js';
import type { Store } from './store.js';

/**
 * The store a command works on: the file store in `home` unless a PostgreSQL
 * URL is given (--store or CONDUCTOR_STORE). The home stays local either
 * way: output being captured and the daemon's pid file live there.
 * `checks`: how deeply schedules are checked when read (see Checks); `leaseMs`: the
 * PostgreSQL store's lease of a dispatcher on another host.
 */
export function openStore(home: string, url: string | undefined, checks: Checks = 'full', leaseMs?: number): Store {
  if (url === undefined || url === '' || url === 'file') return new FileStore(home, checks);
  if (/^postgres(ql)?:\/\//.test(url)) {
    // Loaded only for this backend: the file store's commands never pay for the driver.
    const { PgStore } = require('./postgres/index.js') as typeof import('./postgres/index.js');
    return new PgStore(home, url, checks, leaseMs);
  }
  throw new InputError(`invalid store '${url}': expected a postgres:// URL (or 'file' for the home directory)`);
}
