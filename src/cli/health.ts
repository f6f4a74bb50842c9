import type { Command } from 'commander';
import { collectStats } from '../stats.js';
import { formatDuration, parseDuration } from '../time.js';
import { printable } from '../text.js';
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
    .action(async (opts, cmd: Command) => {
      const g = globals(cmd);
      const maxAge = parseDuration(opts.maxAge, 'max-age');
      const ctx = await openContext(cmd);
      const { store } = ctx;
      const now = ctx.clock();
      const findings: Finding[] = [];
      const add = (check: string, ok: boolean, message: string) => findings.push({ check, ok, message });

      const hb = await store.readState<{ at: string; mode: string; pid: number }>('heartbeat');
      if (!hb) add('heartbeat', false, 'no process pass has ever run on this home');
      else {
        const age = now - Date.parse(hb.at);
        add('heartbeat', age <= maxAge, `last ${hb.mode} heartbeat ${formatDuration(Math.max(0, age))} ago (max ${formatDuration(maxAge)})`);
      }
      const orphans = [];
      for (const r of await store.listRunning()) if (!(await store.ownerAlive(r.owner))) orphans.push(r);
      add('running', orphans.length === 0, orphans.length ? `${orphans.length} running entr${orphans.length === 1 ? 'y has' : 'ies have'} no live dispatcher (the next process recovers them)` : 'no orphaned running entries');
      for (const f of await store.healthFindings(now)) add(f.check, f.ok, f.message);
      const stats = await collectStats(ctx);
      add('quarantine', stats.quarantined === 0, stats.quarantined ? store.kind === 'file' ? `${stats.quarantined} file(s) in quarantine/` : `${stats.quarantined} record(s) in quarantine` : 'no quarantined files');
      const open = Object.entries(stats.breakers).filter(([, s]) => s !== 'closed');
      add('breakers', open.length === 0, open.length ? `breakers not closed: ${open.map(([n, s]) => `${n} (${s})`).join(', ')}` : 'all breakers closed');
      add('dlq', stats.dlq === 0, `${stats.dlq} dead letter(s)`);
      if (stats.paused) add('paused', true, 'home is paused');

      const healthy = findings.every((f) => f.ok);
      if (g.json) printJson({ healthy, findings });
      else {
        const c = setupColor(g);
        for (const f of findings) process.stdout.write(`${f.ok ? c.green('ok  ') : c.red('FAIL')} ${printable(`${f.check}: ${f.message}`)}\n`);
      }
      process.exitCode = healthy ? 0 : 1;
    });
}
