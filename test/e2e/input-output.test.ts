import { execa } from 'execa';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  cli,
  editStoredSchedule,
  fileStoreOnly,
  idleReadings,
  json,
  ok,
  STORE,
  stateDigest,
  storeEnv,
  tempHome,
  workDir,
} from '../helpers.js';

/**
 * Issue #12 items 3, 5 and 6: every verb says what it set aside; bad input is
 * refused (exit 2, one line, nothing changed); output cannot be forged and
 * captured bytes come back as captured.
 */

const T0 = { CONDUCTOR_NOW: '2026-11-25T10:01:00Z' };

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |TypeError|node:/);
  return lines[0];
}

/** Runs the CLI through bash, so that arguments can hold any bytes (printf escapes). */
async function bash(home: string, script: string, env: Record<string, string> = {}) {
  const r = await execa('bash', ['-c', script], {
    reject: false,
    env: { NO_COLOR: '1', C: BIN, H: home, CONDUCTOR_RESOURCES_FILE: idleReadings(home), ...storeEnv(home), ...env },
    cwd: path.dirname(home),
    encoding: 'buffer',
  });
  return {
    code: r.exitCode ?? -1,
    stdout: Buffer.from(r.stdout as Uint8Array),
    stderr: Buffer.from(r.stderr as Uint8Array).toString('utf8'),
  };
}

/** Makes the stored schedule `id` unusable: unparsable on files, failing its checks on PostgreSQL. */
function corruptSchedule(home: string, id: string): void {
  if (STORE === 'file') fs.writeFileSync(path.join(home, 'schedules', `${id}.json`), '{bad');
  else editStoredSchedule(home, id, (s) => (s.priority = -3));
}

describe('item 3: a verb that sets a schedule aside says so', () => {
  for (const verb of [
    ['get', 'c'],
    ['queue', 'c'],
    ['enable', 'c'],
    ['disable', 'c'],
  ]) {
    it(`${verb[0]} on a corrupt schedule names the quarantine, exit 1`, async () => {
      const home = tempHome();
      await ok(home, ['create', 'c', 'C', 'true', 'cron', '0 3 * * *', '--tz', 'UTC'], T0);
      corruptSchedule(home, 'c');
      const r = await cli(home, verb, T0);
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r.stderr)).toMatch(/^conductor: schedule c was set aside: .+ \(quarantine\/[^)]+\)$/);
      // Asked again later, it still says where the schedule went.
      const again = await cli(home, ['get', 'c'], T0);
      expect(again.code).toBe(1);
      expect(oneLine(again.stderr)).toMatch(/^conductor: schedule c was set aside: .+ \(quarantine\/[^)]+\)$/);
    });
  }

  it.runIf(fileStoreOnly)('a stray breakers/bad name!.json is set aside by export, list, stats and health', async () => {
    const home = tempHome();
    await ok(home, ['create', 'c', 'C', 'true', 'cron', '0 3 * * *', '--tz', 'UTC', '--circuit-breaker', 'shared'], T0);
    fs.writeFileSync(path.join(home, 'breakers', 'bad name!.json'), '{"state":"open"}');
    const r = await cli(home, ['export'], T0);
    expect(r.code, r.stderr).toBe(0);
    expect(oneLine(r.stderr)).toMatch(/warning: breakers\/bad name!\.json: not a breaker file.*quarantine\//);
    expect(fs.existsSync(path.join(home, 'breakers', 'bad name!.json'))).toBe(false);
    for (const verb of ['list', 'stats', 'health']) {
      fs.writeFileSync(path.join(home, 'breakers', 'bad name!.json'), '{"state":"open"}');
      const v = await cli(home, [verb], T0);
      expect(v.code, `${verb}: ${v.stderr}`).not.toBe(2);
      expect(v.stderr).not.toMatch(/invalid circuit breaker name/);
    }
  });
});

describe('item 5: bad input is refused, exit 2, one line, nothing changed', () => {
  it("--home '' and CONDUCTOR_HOME= do not make the current directory the home", async () => {
    const home = tempHome();
    const cwd = workDir(home);
    for (const [args, env] of [
      [['--home', '', 'list'], {}],
      [['list'], { CONDUCTOR_HOME: '' }],
    ] as const) {
      const r = await execa(BIN, [...args], { reject: false, cwd, env: { ...env }, extendEnv: true });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/home/);
      expect(fs.readdirSync(cwd)).toEqual([]);
    }
  });

  it('CONDUCTOR_NOW must be a full timestamp in range', async () => {
    const home = tempHome();
    await ok(home, ['resume'], T0);
    const before = await stateDigest(home);
    for (const now of ['0', '2026', '2026-11-25', '2026-02-30T10:00:00Z', '0999-01-01T00:00:00Z', '+010000-01-01T00:00:00Z']) {
      const r = await cli(home, ['list'], { CONDUCTOR_NOW: now });
      expect(r.code, `${now}: ${r.stderr}`).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/CONDUCTOR_NOW/);
    }
    expect(await stateDigest(home)).toBe(before);
  });

  it('next --from must be a real date and time, 1970-9999', async () => {
    const home = tempHome();
    for (const from of ['0', '2026-02-30', '2026-02-30T00:00:00Z', '1969-12-31T23:59:00Z', '+010000-01-01T00:00:00Z']) {
      const r = await cli(home, ['next', '0 3 * * *', '--tz', 'UTC', '--from', from]);
      expect(r.code, `${from}: ${r.stdout}`).toBe(2);
      expect(oneLine(r.stderr)).toMatch(/--from/);
    }
    expect(
      JSON.parse(
        (await cli(home, ['next', '0 3 * * *', '--tz', 'UTC', '--from', '2026-02-28T00:00:00Z', '--count', '1', '--json']))
          .stdout,
      ).runs,
    ).toEqual(['2026-02-28T03:00:00+00:00']);
  });

  it('--cwd that does not exist: a warning at create and apply, a failed run naming it', async () => {
    const home = tempHome();
    const r = await cli(home, ['create', 'w', 'W', 'pwd', 'cron', '0 3 * * *', '--cwd', '/nonexistent/dir'], T0);
    expect(r.code, r.stderr).toBe(0);
    expect(oneLine(r.stderr)).toMatch(/^conductor: warning: .*\/nonexistent\/dir.* does not exist/);
    const file = path.join(workDir(home), 's.yaml');
    fs.writeFileSync(
      file,
      '- task_id: v\n  task_name: V\n  handler: pwd\n  schedule_type: cron\n  schedule_expr: "0 3 * * *"\n  cwd: /nonexistent/other\n',
    );
    const a = await cli(home, ['apply', file], T0);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/warning: .*\/nonexistent\/other.* does not exist/);
    await ok(home, ['queue', 'w'], T0);
    await ok(home, ['process'], T0);
    const [x] = await json(home, ['history', 'w'], T0);
    expect(x.status).toBe('failed');
    expect(x.error).toMatch(/\/nonexistent\/dir/);
  });

  it('an untrusted CONDUCTOR_EVENT_DEPTH counts as the cap: the chain stops', async () => {
    const home = tempHome();
    await ok(home, ['create', 'l', 'L', 'true', 'event', 'ping'], T0);
    for (const depth of ['-50', '1.5', 'x', '']) {
      const r = await cli(home, ['trigger', 'ping', '--json'], { ...T0, CONDUCTOR_EVENT_DEPTH: depth });
      expect(r.code, r.stderr).toBe(0);
      if (depth === '') expect(JSON.parse(r.stdout).queued).toHaveLength(1);
      else {
        expect(JSON.parse(r.stdout).queued, depth).toEqual([]);
        expect(oneLine(r.stderr)).toMatch(/CONDUCTOR_EVENT_DEPTH/);
      }
    }
    const ok3 = await cli(home, ['trigger', 'ping', '--json'], { ...T0, CONDUCTOR_EVENT_DEPTH: '3' });
    expect(JSON.parse(ok3.stdout).queued).toHaveLength(1);
  });

  it('env key __proto__ is refused in a schedules file and in --env, and pollutes nothing', async () => {
    const home = tempHome();
    await ok(home, ['resume'], T0);
    const before = await stateDigest(home);
    const file = path.join(workDir(home), 's.yaml');
    fs.writeFileSync(
      file,
      '- task_id: p\n  task_name: P\n  handler: "true"\n  schedule_type: cron\n  schedule_expr: "0 3 * * *"\n  env:\n    __proto__: x\n    OK: y\n',
    );
    for (const args of [
      ['apply', file],
      ['validate', file],
      ['create', 'p', 'P', 'true', 'cron', '0 3 * * *', '--env', '__proto__=x'],
    ]) {
      const r = await cli(home, args, T0);
      expect(r.code, `${args[0]}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stdout + r.stderr).toMatch(/__proto__/);
    }
    expect(await stateDigest(home)).toBe(before);
  });

  it('bytes that are not UTF-8 in a handler, an env value or a schedules file are refused', async () => {
    const home = tempHome();
    await ok(home, ['resume'], T0);
    const before = await stateDigest(home);
    const create = await bash(home, `"$C" --home "$H" create u U "$(printf 'echo \\377')" cron '0 3 * * *'`, T0);
    expect(create.code, create.stderr).toBe(2);
    expect(oneLine(create.stderr)).toMatch(/UTF-8/);
    const env = await bash(home, `"$C" --home "$H" create u U true cron '0 3 * * *' --env "$(printf 'K=\\300x')"`, T0);
    expect(env.code, env.stderr).toBe(2);
    expect(oneLine(env.stderr)).toMatch(/UTF-8/);
    const file = path.join(workDir(home), 's.yaml');
    fs.writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('- task_id: u\n  task_name: U\n  handler: "echo '),
        Buffer.from([0xff]),
        Buffer.from('"\n  schedule_type: cron\n  schedule_expr: "0 3 * * *"\n'),
      ]),
    );
    const apply = await cli(home, ['apply', file], T0);
    expect(apply.code, apply.stderr).toBe(2);
    expect(oneLine(apply.stderr)).toMatch(/s\.yaml:3: not valid UTF-8/);
    expect(await stateDigest(home)).toBe(before);
    // A handler in UTF-8 (not ASCII) is fine.
    expect((await bash(home, `"$C" --home "$H" create u U 'echo ünï' cron '0 3 * * *'`, T0)).code).toBe(0);
  });
});

describe('item 6: output cannot be forged', () => {
  it('control characters in a task name are escaped in every table and line', async () => {
    const home = tempHome();
    const name = 'evil\nfake  row\x1b[31mred\x9b1m\u202e';
    await ok(home, ['create', 'e', name, 'true', 'cron', '0 3 * * *', '--tz', 'UTC'], T0);
    await ok(home, ['queue', 'e'], T0);
    for (const verb of [['list'], ['get', 'e'], ['status']]) {
      const out = await ok(home, verb, T0);
      expect(out, verb[0]).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/);
      expect(out, verb[0]).not.toMatch(/^fake/m);
    }
    expect((await ok(home, ['list'], T0)).trimEnd().split('\n')).toHaveLength(2);
    // JSON keeps the name exactly.
    expect((await json(home, ['get', 'e'], T0)).task_name).toBe(name);
  });

  it('error messages escape control characters too', async () => {
    const home = tempHome();
    const r = await cli(home, ['next', 'x\x1b[2Jy'], T0);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).not.toMatch(/\x1b/);
  });

  const BINARY = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]), Buffer.from('text\n'), Buffer.from([0xe2, 0x82])]);

  async function binaryRun(home: string): Promise<string> {
    const hex = [...BINARY].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
    await ok(home, ['create', 'b', 'B', `printf '${hex}'`, 'cron', '0 3 * * *', '--tz', 'UTC'], T0);
    await ok(home, ['queue', 'b'], T0);
    await ok(home, ['process'], T0);
    const [x] = await json(home, ['history', 'b'], T0);
    return x.execution_id;
  }

  it('logs writes the captured bytes as captured', async () => {
    const home = tempHome();
    const id = await binaryRun(home);
    const r = await bash(home, `"$C" --home "$H" logs ${id}`, T0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.equals(BINARY), r.stdout.toString('hex')).toBe(true);
  });

  it('export keeps binary output exactly and import restores it', async () => {
    const home = tempHome();
    const id = await binaryRun(home);
    const dump = path.join(workDir(home), 'dump.json');
    await ok(home, ['export', '--output', dump], T0);
    const x = JSON.parse(fs.readFileSync(dump, 'utf8')).executions[0];
    expect(x.output_encoding).toBe('base64');
    expect(Buffer.from(x.output, 'base64').equals(BINARY)).toBe(true);
    const other = tempHome();
    await ok(other, ['import', dump], T0);
    const r = await bash(other, `"$C" --home "$H" logs ${id}`, T0);
    expect(r.stdout.equals(BINARY), r.stdout.toString('hex')).toBe(true);
    // Text output stays plain text in the document.
    await ok(other, ['create', 't', 'T', 'echo hello', 'cron', '0 3 * * *', '--tz', 'UTC'], T0);
    await ok(other, ['queue', 't'], T0);
    await ok(other, ['process'], T0);
    const d2 = JSON.parse(await ok(other, ['export'], T0));
    const t = d2.executions.find((e: any) => e.task_id === 't');
    expect(t.output).toBe('hello\n');
    expect(t.output_encoding).toBeUndefined();
  });

  it("an error names the user's path, never a .tmp- file", async () => {
    const home = tempHome();
    const r = await cli(home, ['stats', '--format', 'json', '--output', '/nonexistent/dir/stats.json'], T0);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/\/nonexistent\/dir\/stats\.json/);
    expect(r.stderr).not.toMatch(/\.tmp-/);
  });

  it('TERM=dumb gets no colour, even on a terminal', async () => {
    const home = tempHome();
    await ok(home, ['create', 'c', 'C', 'true', 'cron', '0 3 * * *', '--tz', 'UTC'], T0);
    const run = (term: string) =>
      execa('script', ['-qec', `"${BIN}" --home "${home}" list`, '/dev/null'], {
        reject: false,
        env: { TERM: term, ...T0, ...storeEnv(home) },
        extendEnv: false,
      });
    const colour = await run('xterm');
    expect(colour.stdout).toMatch(/\x1b\[/); // the test can see colour when it is there
    const dumb = await run('dumb');
    expect(dumb.exitCode).toBe(0);
    expect(dumb.stdout).not.toMatch(/\x1b\[/);
  });

  it('a closed or broken stdout puts no launcher diagnostics into the log', async () => {
    const home = tempHome();
    await ok(home, ['create', 'a', 'A', 'true', 'cron', '0 3 * * *', '--tz', 'UTC'], T0);
    await ok(home, ['create', 's', 'S', 'sleep 0.3', 'cron', '0 3 * * *', '--tz', 'UTC'], T0);
    // stdout into a pipe nobody reads (closed at once); stderr is what a crontab line appends to its log.
    // The helper's message needs it to write after the dispatcher died: a race, so ten tries.
    const r = await bash(
      home,
      `for i in $(seq 10); do "$C" --home "$H" queue a >/dev/null; "$C" --home "$H" queue s --count 3 >/dev/null;
      "$C" --home "$H" process 2>>"$H.err" | true; sleep 0.4; done; cat "$H.err"`,
      T0,
    );
    expect(r.stdout.toString()).not.toMatch(/Unable to flush|Broken pipe/);
  });
});
