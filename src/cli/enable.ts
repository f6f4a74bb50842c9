import type { Command } from 'commander';
import { checkId } from '../ids.js';
import { setEnabled } from '../app/schedules.js';
import { globals, openContext, printJson } from './common.js';

function register(program: Command, verb: 'enable' | 'disable'): void {
  program
    .command(verb)
    .description(
      verb === 'enable'
        ? 'enable a schedule (its next run is computed from now)'
        : 'disable a schedule (queued runs stay queued)',
    )
    .argument('<id>', 'task id')
    .action(async (id: string, _opts, cmd: Command) => {
      checkId(id);
      const s = await setEnabled(await openContext(cmd, 'full', { unknown: `unknown task id '${id}'` }), id, verb === 'enable');
      if (globals(cmd).json) printJson(s);
      else process.stdout.write(`${verb}d ${id}${s.next_execution ? ` (next run ${s.next_execution})` : ''}\n`);
    });
}

export const registerEnable = (p: Command) => register(p, 'enable');
export const registerDisable = (p: Command) => register(p, 'disable');
