import type { Checks } from '../check.js';
import type { StoreRoles } from '../roles.js';
import type { Store } from '../store.js';
import { fileAccess } from './access.js';
import { fileBreakers } from './breakers.js';
import { fileDeadLetters } from './dlq.js';
import { fileHistory } from './history.js';
import { FileHome } from './home.js';
import { fileMaintenance, fileRegistry } from './maintenance.js';
import { fileQueue } from './queue.js';
import { fileRunning } from './running.js';
import { pruneFiles } from './prune.js';
import { fileSchedules } from './schedules.js';
import { fileState } from './state.js';

/**
 * The file store: one JSON file per schedule, a spool of one file per queue
 * entry (queue/ → running/ by rename, so a claim is atomic), execution
 * records in per-process journals, a log per execution, API tokens and
 * webhooks under access/. Each role lives in its own file over one FileHome
 * (home.ts); this puts them together.
 */
export interface FileStore extends Store {}
export class FileStore {
  readonly kind = 'file' as const;

  /** How deeply schedules are checked when read (see Checks); every record is checked. */
  constructor(home: string, checks: Checks = 'full') {
    const h = new FileHome(home, checks);
    const queue = fileQueue(h);
    const running = fileRunning(h, queue);
    const history = fileHistory(h);
    const roles: StoreRoles = {
      ...fileMaintenance(h),
      ...fileRegistry(h),
      ...fileSchedules(h, queue, {
        entryIsLive: running.entryIsLive,
        executionExists: history.executionExists,
        groupResult: running.groupResult,
      }),
      ...queue,
      ...running,
      ...history,
      prune: (o) => pruneFiles(h, o),
      ...fileDeadLetters(h),
      ...fileBreakers(h),
      ...fileState(h),
      ...fileAccess(h),
    };
    Object.assign(this, roles, { home: h.home, problems: h.problems, location: h.home });
  }
}
