import type { Context } from '../context.js';
import { NotFoundError } from '../errors.js';
import { checkId } from '../ids.js';
import type { Execution } from '../model.js';
import { outputField } from './transfer.js';

/** An execution as `history --json` shows it. */
export type ExecutionView = Omit<Execution, 'format'>;

/** Executions, newest first; of one task when `taskId` is given; all when `limit` is absent. */
export async function listHistory(ctx: Context, o: { taskId?: string; limit?: number }): Promise<ExecutionView[]> {
  if (o.taskId !== undefined) checkId(o.taskId);
  const xs = await ctx.store.listExecutions({ taskId: o.taskId, limit: o.limit });
  // As `get` does: a typo is not "no executions" (a deleted schedule's history still answers).
  if (o.taskId !== undefined && xs.length === 0 && !(await ctx.store.scheduleExists(o.taskId)))
    throw new NotFoundError(`unknown task id '${o.taskId}': not a schedule and not in history (see conductor list)`);
  return xs.map(({ format: _f, ...x }) => x);
}

/** What `logs --json` prints: output that is not UTF-8 is in base64, named by output_encoding. */
export interface LogDocument {
  execution_id: string;
  task_id: string;
  status: Execution['status'];
  output: string;
  output_encoding?: 'base64';
}

/** The captured output of one execution: its bytes as captured, and the document describing them. */
export async function executionLog(ctx: Context, id: string): Promise<{ document: LogDocument; bytes: Buffer }> {
  checkId(id, 'execution id');
  const x = await ctx.store.getExecution(id);
  if (!x) throw new NotFoundError(`unknown execution id '${id}'`);
  const bytes = await ctx.store.readLog(x);
  return { document: { execution_id: id, task_id: x.task_id, status: x.status, ...outputField(bytes) }, bytes };
}
