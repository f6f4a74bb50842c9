// Issue 15 item 2: the package as users install it, `npm pack` then `npm install -g`.
import { execa } from 'execa';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { idleReadings, STORE } from '../helpers.js';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'schedules.example', 'bin', 'src', 'scripts'];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'conductor-pack-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A copy of the checkout: packing builds into dist/, which the other test files are running. */
function checkoutCopy(): string {
  const dir = path.join(scratch, 'src');
  for (const name of SOURCES) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

describe.skipIf(STORE !== 'file')('npm pack, npm install -g', () => {
  it('gives a working conductor that ships only what runs, and handlers under cron find the installed one', async () => {
    const dir = checkoutCopy();
    const manifest = fs.readFileSync(path.join(dir, 'package.json'), 'utf8');
    await execa('npm', ['pack', '--pack-destination', scratch], { cwd: dir });
    // The checkout's manifest is as it was (prepack strips its scripts for the tarball only).
    expect(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).toBe(manifest);
    // A pack that fails after prepack (npm then skips postpack) leaves the manifest as it was, too.
    const failed = await execa('npm', ['pack', '--pack-destination', path.join(scratch, 'missing')], { cwd: dir, reject: false });
    expect(failed.exitCode).not.toBe(0);
    const manifestNow = () => fs.readFileSync(path.join(dir, 'package.json'), 'utf8');
    for (let i = 0; i < 50 && manifestNow() !== manifest; i++) await new Promise((r) => setTimeout(r, 100));
    expect(manifestNow()).toBe(manifest);
    expect(fs.existsSync(path.join(dir, 'package.json.pack-backup'))).toBe(false);
    const tarball = path.join(
      scratch,
      fs.readdirSync(scratch).find((n) => n.endsWith('.tgz'))!,
    );
    const files = (await execa('tar', ['tzf', tarball])).stdout.split('\n');
    expect(files).toContain('package/dist/conductor.cjs');
    expect(files).toContain('package/bin/conductor');
    // The dashboard is in the package: `conductor serve` needs nothing from a CDN.
    for (const f of ['index.html', 'assets/app.js', 'assets/app.css']) expect(files).toContain(`package/dist/web/${f}`);
    expect(files.filter((f) => /^package\/(src|test|scripts|bench)\/|\.map$/.test(f))).toEqual([]);
    const shipped = JSON.parse((await execa('tar', ['xzf', tarball, '-O', 'package/package.json'])).stdout);
    expect(shipped.scripts).toBeUndefined();
    expect(shipped.dependencies).toBeUndefined();

    const prefix = path.join(scratch, 'prefix');
    const install = await execa('npm', [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
    ]);
    expect(install.stderr).not.toMatch(/install-scripts|ERR/);
    // Everything it runs is in dist/: nothing is fetched.
    expect(fs.existsSync(path.join(prefix, 'lib', 'node_modules', 'conductor', 'node_modules'))).toBe(false);
    const bin = path.join(prefix, 'bin', 'conductor');
    const home = path.join(scratch, 'home');
    const out = path.join(scratch, 'ran');
    // The machine reads as idle: under a loaded CI run live CPU would keep both entries queued.
    const env = { PATH: '/usr/bin:/bin', NO_COLOR: '1', CONDUCTOR_STORE: 'file', CONDUCTOR_RESOURCES_FILE: idleReadings(home) };
    const run = (args: string[]) => execa(bin, ['--home', home, ...args], { env, extendEnv: false });
    await run(['create', 'first', 'First', `echo "$CONDUCTOR_BIN" > ${out}; conductor trigger next`, 'event', 'go']);
    await run(['create', 'second', 'Second', `echo second >> ${out}`, 'event', 'next']);
    await run(['trigger', 'go']);
    const pass = JSON.parse((await run(['process', '--json'])).stdout);
    expect(pass.succeeded, JSON.stringify(pass)).toBe(2);
    const hist = JSON.parse((await run(['history', '--json'])).stdout);
    expect(hist.map((x: any) => `${x.task_id}:${x.status}`).sort()).toEqual(['first:success', 'second:success']);
    const [binDir, second] = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(second).toBe('second');
    expect(fs.realpathSync(binDir)).toBe(fs.realpathSync(path.join(prefix, 'lib', 'node_modules', 'conductor', 'bin')));
  }, 240_000);
});
