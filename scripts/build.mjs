// Bundles the CLI into one CommonJS file: a single file starts faster than
// hundreds of ESM modules resolved one by one (see README, "Benchmarks").
import { build } from 'esbuild';

await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/conductor.cjs',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
