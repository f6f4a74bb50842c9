// Bundles the CLI into one CommonJS file plus one file per heavy dependency.
// A single bundled file starts much faster than hundreds of ESM modules
// resolved one by one; keeping the big libraries (yaml, cronstrue, pg, ...) in
// their own files, required only by the verbs that use them, keeps `queue` and
// `trigger` close to a bare `node` start (see README, "Benchmarks").
import { build } from 'esbuild';
import { copyFileSync, rmSync } from 'node:fs';

const LAZY = ['yaml', 'cronstrue', 'cli-table3', 'proper-lockfile', 'chalk', 'pg'];
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', legalComments: 'none', logLevel: 'warning' };

rmSync('dist', { recursive: true, force: true });

await Promise.all(
  LAZY.map((name) =>
    build({
      ...common,
      external: ['pg-native', 'pg-cloudflare', 'cloudflare:sockets'],
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: '.' },
      outfile: `dist/vendor/${name}.cjs`,
    }),
  ),
);

await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/conductor.cjs',
  sourcemap: 'linked',
  // Code in other languages lives in its own files with a header each, bundled as its text: the
  // launcher helper (src/run/spawner.pl), SQL migrations and hot queries (src/store/postgres/).
  loader: { '.pl': 'text', '.sql': 'text', '.yaml': 'text' },
  plugins: [
    {
      name: 'lazy-vendor',
      setup(b) {
        const filter = new RegExp(`^(${LAZY.join('|')})$`);
        b.onResolve({ filter }, (args) => ({ path: `./vendor/${args.path}.cjs`, external: true }));
      },
    },
  ],
});

// The run keeper for hosts without perl (src/run/keeper-node.ts): one small file, started per run.
await build({ ...common, entryPoints: ['src/run/keeper-node.ts'], outfile: 'dist/keeper.cjs' });

// The dashboard (src/web/, served by `conductor serve`): one script and one stylesheet (ours and
// uPlot's), no source maps, and the page every dashboard path answers with.
await build({
  entryPoints: { app: 'src/web/main.tsx' },
  outdir: 'dist/web/assets',
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2020',
  minify: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync('src/web/index.html', 'dist/web/index.html');
copyFileSync('src/web/favicon.svg', 'dist/web/assets/favicon.svg');

// Warm V8's code cache for bin/conductor (see there); a failure here only costs start-up time.
// The cache is written after the first run without one and holds what that run compiled, so
// the run is a `trigger` over a throw-away home: the path scripts call most (store, record
// checks, enqueue) then starts compiled.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync as rm } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const scratch = mkdtempSync(join(tmpdir(), 'conductor-build-'));
const run = (args) =>
  execFileSync(process.execPath, ['bin/conductor', '--home', join(scratch, 'home'), ...args], {
    stdio: 'ignore',
    env: { ...process.env, CONDUCTOR_STORE: 'file' },
  });
try {
  run(['create', 'warm', 'Warm', 'true', 'event', 'warm.up']);
  rm('dist/conductor.cjs.cache', { force: true });
  run(['trigger', 'warm.up']);
} catch {
  /* no cache then */
} finally {
  rm(scratch, { recursive: true, force: true });
}
