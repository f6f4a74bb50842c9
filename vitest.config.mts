import { defineConfig } from 'vitest/config';

export default defineConfig({
  // As the build bundles them (esbuild's text loader): a .sql, .pl or .yaml file imports as its text.
  plugins: [
    {
      name: 'text-files',
      enforce: 'pre',
      transform(code: string, id: string) {
        return /\.(sql|pl|yaml)$/.test(id) ? { code: `export default ${JSON.stringify(code)};`, map: null } : null;
      },
    },
  ],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: the suite spawns real processes; more workers only add noise to timing tests.
    maxWorkers: 2,
  },
});
