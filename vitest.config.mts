import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: the suite spawns real processes; more workers only add noise to timing tests.
    maxWorkers: 2,
  },
});
