import * as path from 'node:path';
import { writeJsonAtomic } from '../atomic.js';
import { asPrunedTally, PRUNED_TALLY_STATE, prunedTallyProblem, type PrunedTally } from '../tally.js';
import type { FileHome } from './home.js';

/**
 * state/pruned-tally.json: what prune removed from history, counted (see
 * PrunedTally). Written before the archives are rewritten, with the ids it is
 * about to remove as `pending`; those stay until the next prune replaces them,
 * so a reader that lists records first and reads this second counts each
 * execution once whenever the prune happens.
 */
const file = (h: FileHome) => path.join(h.dir('state'), `${PRUNED_TALLY_STATE}.json`);

export function readPrunedTally(h: FileHome): PrunedTally {
  // A damaged one is set aside and reported (quarantine), like any state file.
  return asPrunedTally(h.readJson(file(h), prunedTallyProblem));
}

export function writePrunedTally(h: FileHome, t: PrunedTally): void {
  writeJsonAtomic(file(h), t);
}
