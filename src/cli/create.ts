import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { parseDefinition } from '../schedule/definition.js';
import { createSchedule } from '../app/schedules.js';
import { globals, openContext, printJson, warnMissingCwd } from './common.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('create a schedule: create <id> <name> <handler> <type> <expr> [priority], or the same with options')
    .argument('[id]', 'task id')
    .argument('[name]', 'human name')
    .argument('[handler]', 'shell command to run')
    .argument('[type]', 'cron | interval | event | once')
    .argument('[expr]', 'cron expression, interval, event name or ISO timestamp')
    .argument('[priority]', 'priority 1..10 (default 5)')
    .option('--name <name>', 'human name')
    .option('--handler <cmd>', 'shell command to run')
    .option('--type <type>', 'cron | interval | event | once')
    .option('--expr <expr>', 'the schedule expression')
    .option('--cron <expr>', 'shorthand for --type cron --expr EXPR')
    .option('--every <dur>', 'shorthand for --type interval --expr DUR')
    .option('--at <timestamp>', 'shorthand for --type once --expr TIMESTAMP')
    .option('--on <event>', 'shorthand for --type event --expr EVENT')
    .option('--priority <n>', 'priority 1..10, higher first')
    .option('--timeout <dur>', 'stop the handler after this long')
    .option('--retries <n>', 'retries after a failure (exponential backoff)')
    .option('--backoff <dur>', 'first retry delay, doubling (default 1s)')
    .option('--retry-policy <policy>', 'none | standard | aggressive')
    .option('--cpu <pct>', 'estimated CPU share of the machine, percent')
    .option('--mem <pct>', 'estimated memory share of the machine, percent')
    .option('--tz <zone>', 'IANA time zone for cron and once')
    .option('--overlap <policy>', 'skip | queue | allow')
    .option('--catch-up <policy>', 'once | all | none')
    .option('--depends-on <ids>', 'comma-separated task ids that must succeed first')
    .option('--circuit-breaker <name>', 'breaker name (shared by schedules that name it)')
    .option('--breaker-threshold <n>', 'consecutive failures that open the breaker (default 5)')
    .option('--breaker-cooldown <dur>', 'how long an open breaker stays open (default 5m)')
    .option('--cwd <dir>', 'working directory of the handler')
    .option('--env <K=V>', 'environment variable for the handler (repeatable)', collect)
    .option('--disabled', 'create it disabled')
    .action(async (id, name, handler, type, expr, priority, opts, cmd: Command) => {
      const shorthand = (['cron', 'every', 'at', 'on'] as const).filter((k) => opts[k] !== undefined);
      if (shorthand.length > 1) throw new InputError(`use only one of --cron, --every, --at, --on`);
      const typeByShorthand = { cron: 'cron', every: 'interval', at: 'once', on: 'event' } as const;
      if (!id) throw new InputError('missing task id: create <id> <name> <handler> <type> <expr> [priority]');
      const raw: Record<string, unknown> = {
        task_id: id,
        task_name: opts.name ?? name,
        handler: opts.handler ?? handler,
        schedule_type: shorthand.length ? typeByShorthand[shorthand[0]] : (opts.type ?? type),
        schedule_expr: shorthand.length ? opts[shorthand[0]] : (opts.expr ?? expr),
        priority: opts.priority ?? priority,
        timeout: opts.timeout,
        retries: opts.retries,
        backoff: opts.backoff,
        retry_policy: opts.retryPolicy,
        cpu: opts.cpu,
        mem: opts.mem,
        tz: opts.tz,
        overlap: opts.overlap,
        catch_up: opts.catchUp,
        depends_on: opts.dependsOn,
        circuit_breaker: opts.circuitBreaker,
        breaker_threshold: opts.breakerThreshold,
        breaker_cooldown: opts.breakerCooldown,
        cwd: opts.cwd,
        env: opts.env,
        enabled: opts.disabled ? false : undefined,
      };
      if (raw.handler === undefined) throw new InputError('missing handler');
      if (raw.schedule_type === undefined) throw new InputError('missing schedule type (cron, interval, event or once)');
      if (raw.schedule_expr === undefined) throw new InputError('missing schedule expression');
      for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
      const def = parseDefinition(raw);
      const ctx = await openContext(cmd);
      const s = await createSchedule(ctx, def);
      warnMissingCwd([s]);
      if (globals(cmd).json) printJson(s);
      else process.stdout.write(`created ${s.task_id}${s.next_execution ? ` (next run ${s.next_execution})` : ''}\n`);
    });
}
