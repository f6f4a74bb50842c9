// The package.json that `npm pack` ships has no lifecycle scripts and no
// dependencies: `prepare` builds from src/ in a checkout, but the tarball
// holds only the build, and npm 11 warns about (or, if allowed, runs and
// fails) a `prepare` it finds in an installed package; the build bundles every
// dependency into dist/, so installing needs no registry.
//
// Run as prepack (`strip`) and postpack (`restore`), the way pinst handles
// postinstall. npm skips postpack when the pack fails, so `strip` also leaves
// a watcher (`restore-after PID`) that puts the original back once npm exits,
// whatever happened; the original waits in package.json.pack-backup meanwhile.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const BACKUP = 'package.json.pack-backup';
const [mode, pidArg] = process.argv.slice(2);

function restore() {
  if (existsSync(BACKUP)) renameSync(BACKUP, 'package.json');
}

/** npm's pid: prepack runs as `sh -c "... && node pack-manifest.mjs strip"` under npm. */
function npmPid() {
  const parentOf = (pid) =>
    Number(
      readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /s, '')
        .split(' ')[1],
    );
  try {
    return parentOf(process.ppid);
  } catch {
    return null;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

if (mode === 'strip') {
  if (!existsSync(BACKUP)) copyFileSync('package.json', BACKUP);
  const manifest = JSON.parse(readFileSync(BACKUP, 'utf8'));
  delete manifest.scripts;
  delete manifest.allowScripts;
  delete manifest.dependencies;
  delete manifest.devDependencies;
  writeFileSync('package.json', JSON.stringify(manifest, null, 2) + '\n');
  const pid = npmPid();
  if (pid) spawn(process.execPath, [process.argv[1], 'restore-after', String(pid)], { detached: true, stdio: 'ignore' }).unref();
} else if (mode === 'restore') {
  restore();
} else if (mode === 'restore-after') {
  const timer = setInterval(() => {
    if (alive(Number(pidArg))) return;
    clearInterval(timer);
    restore();
  }, 100);
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore|restore-after PID');
  process.exit(2);
}
