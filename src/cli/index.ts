import type { Command } from 'commander';
import * as verbs from './verbs.js';

export function registerAll(program: Command): void {
  for (const register of Object.values(verbs)) register(program);
}
