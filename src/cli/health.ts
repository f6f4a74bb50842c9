import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tokenAlive } from '../run/proc.js';
import { collectStats } from '../stats.js';
import { formatDuration, parseDuration } from '../time.js';
import { globals, openContext, printJson, setupColor } from './common.js';

interface Finding {
  check: string;
  ok: boolean;
  message: string;
}

export function registerHealth(program: Command): void {
  program
    .command('health')
    .description('check the heartbeat of process and the state of the home; exit 0 healthy, 1 not')
    .option('--max-age <dur>', 'the last pass may be at most this old', '3m')
    .action((opts, cmd: Command) => {
      const g = globals(cmd);
      const maxAge = parseDuration(opts.maxAge, 'max-age');
      const ctx = openContext(cmd);
      const { store } = ctx;
      const now = ctx.clock();
      const findings: Finding[] = [];
      const add = (check: string, ok: boolean, message: string) => findings.push({ check, ok, message });

      const hb = store.readState<{ at: string; mode: string; pid: number }>('heartbeat');
      if (!hb) add('heartbeat', false, 'no process pass has ever run on this home');
      else {
        const age = now - Date.parse(hb.at);
        add('heartbeat', age <= maxAge, `last ${hb.mode} heartbeat ${formatDuration(Math.max(0, age))} ago (max ${formatDuration(maxAge)})`);
      }
      const orphans = store.listRunning().filter((r) => !tokenAlive(r.owner));
      add('running', orphans.length === 0, orphans.length ? `${orphans.length} running entr${orphans.length === 1 ? 'y has' : 'ies have'} no live dispatcher (the next process recovers them)` : 'no orphaned running entries');
      const stale = staleLocks(store.dir('locks'), now);
      add('locks', stale.length === 0, stale.length ? `stale locks: ${stale.join(', ')}` : 'no stale locks');
      const stats = collectStats(ctx);
      add('quarantine', stats.quarantined === 0, stats.quarantined ? `${stats.quarantined} file(s) in quarantine/` : 'no quarantined files');
      const mode = fs.statSync(store.home).mode & 0o777;
      add('permissions', (mode & 0o077) === 0, `home ${store.home} has mode ${mode.toString(8)}${mode & 0o077 ? ' (others can read it; expected 700)' : ''}`);
      const open = Object.entries(stats.breakers).filter(([, s]) => s !== 'closed');
      add('breakers', open.length === 0, open.length ? `breakers not closed: ${open.map(([n, s]) => `${n} (${s})`).join(', ')}` : 'all breakers closed');
      add('dlq', stats.dlq === 0, `${stats.dlq} dead letter(s)`);
      if (stats.paused) add('paused', true, 'home is paused');

      const healthy = findings.every((f) => f.ok);
      if (g.json) printJson({ healthy, findings });
      else {
        const c = setupColor(g);
        for (const f of findings) process.stdout.write(`${f.ok ? c.green('ok  ') : c.red('FAIL')} ${f.check}: ${f.message}\n`);
      }
      process.exitCode = healthy ? 0 : 1;
    });
}

function staleLocks(dir: string, now: number): string[] {
  const out: string[] = [];
  for (const n of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!n.endsWith('.lock')) continue;
    try {
      if (now - fs.statSync(path.join(dir, n)).mtimeMs > 60_000) out.push(n.replace(/\.lock$/, ''));
    } catch {
      /* released meanwhile */
    }
  }
  return out;
}
