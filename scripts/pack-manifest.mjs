// The package.json that `npm pack` ships has no lifecycle scripts and no
// dependencies: `prepare` builds from src/ in a checkout, but the tarball
// holds only the build, and npm 11 warns about (or, if allowed, runs and
// fails) a `prepare` it finds in an installed package; the build bundles every
// dependency into dist/, so installing needs no registry. Run as prepack (`strip`) and postpack (`restore`), the
// way pinst handles postinstall; a pack that dies in between leaves the
// original in package.json.pack-backup, which `restore` puts back.
import { existsSync, readFileSync, renameSync, writeFileSync, copyFileSync } from 'node:fs';

const BACKUP = 'package.json.pack-backup';
const mode = process.argv[2];
if (mode === 'strip') {
  if (!existsSync(BACKUP)) copyFileSync('package.json', BACKUP);
  const manifest = JSON.parse(readFileSync(BACKUP, 'utf8'));
  delete manifest.scripts;
  delete manifest.dependencies;
  delete manifest.devDependencies;
  delete manifest.allowScripts;
  writeFileSync('package.json', JSON.stringify(manifest, null, 2) + '\n');
} else if (mode === 'restore') {
  if (existsSync(BACKUP)) renameSync(BACKUP, 'package.json');
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exit(2);
}
