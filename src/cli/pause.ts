import type { Command } from 'commander';
import { setPaused } from '../app/pause.js';
import { globals, openContext, printJson } from './common.js';

function register(program: Command, verb: 'pause' | 'resume'): void {
  program
    .command(verb)
    .description(
      verb === 'pause' ? 'start nothing new on this home (running tasks finish)' : 'let the next pass start tasks again',
    )
    .action(async (_opts, cmd: Command) => {
      const doc = await setPaused(await openContext(cmd), verb === 'pause');
      if (globals(cmd).json) printJson(doc);
      else process.stdout.write(doc.paused ? 'paused: nothing new starts until conductor resume\n' : 'resumed\n');
    });
}

export const registerPause = (p: Command) => register(p, 'pause');
export const registerResume = (p: Command) => register(p, 'resume');
