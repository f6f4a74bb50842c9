import type { AccessStore, Awaitable, HookRecord, TokenRecord } from './roles.js';

/** A backend's folder or table of records keyed by name (tokens, hooks). */
export interface NamedRecords<T extends { name: string }> {
  list(): Awaitable<T[]>;
  read(name: string): Awaitable<T | null>;
  /** False if the name is taken. */
  create(r: T): Awaitable<boolean>;
  /** False if there is no such record. */
  remove(name: string): Awaitable<boolean>;
}

/** The AccessStore role over a backend's two collections: both backends answer it the same way. */
export function accessOver(tokens: NamedRecords<TokenRecord>, hooks: NamedRecords<HookRecord>): AccessStore {
  return {
    listTokens: () => tokens.list(),
    createToken: (t) => tokens.create(t),
    deleteToken: (name) => tokens.remove(name),
    listHooks: () => hooks.list(),
    readHook: (name) => hooks.read(name),
    createHook: (hk) => hooks.create(hk),
    deleteHook: (name) => hooks.remove(name),
  };
}
