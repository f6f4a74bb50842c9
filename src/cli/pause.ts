import type { Command } from 'commander';
import { isoInZone } from '../time.js';
import { globals, openContext, printJson } from './common.js';

function register(program: Command, verb: 'pause' | 'resume'): void {
  program
    .command(verb)
    .description(verb === 'pause' ? 'start nothing new on this home (running tasks finish)' : 'let the next pass start tasks again')
    .action(async (_opts, cmd: Command) => {
      const ctx = await openContext(cmd);
      await ctx.store.setPaused(verb === 'pause', isoInZone(ctx.clock()));
      if (globals(cmd).json) printJson({ paused: verb === 'pause' });
      else process.stdout.write(verb === 'pause' ? 'paused: nothing new starts until conductor resume\n' : 'resumed\n');
    });
}

export const registerPause = (p: Command) => register(p, 'pause');
export const registerResume = (p: Command) => register(p, 'resume');
