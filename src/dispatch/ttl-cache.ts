import type { Awaitable } from '../store/store.js';

/**
 * A read-through cache whose values live `ttlMs`; the dispatcher reads schedules and breakers
 * through it. Ages are measured on the process's own wall clock (`Date.now`), not the home's
 * clock: a pinned CONDUCTOR_NOW must not make cached values live for ever.
 */
export class TtlCache<T> {
  private map = new Map<string, { at: number; value: T }>();
  constructor(
    private ttlMs: number,
    private load: (key: string) => Awaitable<T>,
  ) {}
  async get(key: string): Promise<T> {
    const hit = this.map.get(key);
    const now = Date.now();
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = await this.load(key);
    this.map.set(key, { at: now, value });
    return value;
  }
  forget(key: string): void {
    this.map.delete(key);
  }
  /** The cached value, or undefined when nothing is cached. */
  peek(key: string): T | undefined {
    return this.map.get(key)?.value;
  }
}
