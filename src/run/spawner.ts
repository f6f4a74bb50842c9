import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFailure } from './exec-limits.js';
import type { LaunchEvents, LaunchRequest } from './launch.js';

/**
 * Starts handlers from a small Perl process instead of from Node.
 *
 * Why: `fork` of a Node process costs about 1 ms of main-thread time on the
 * development machine (a bare Node spawn loop is 2.3-2.6x `xargs -P`), and
 * that is most of what draining a queue of short tasks costs. Perl forks in a
 * fraction of that, and it is always there: Debian's perl-base is an
 * Essential package. The Perl side only forks, execs `/bin/sh -c` as the
 * leader of a new session, and copies output into the log (first byte opens
 * the file, O_EXCL and O_NOFOLLOW: a planted symlink is replaced, never written
 * through; the cap is kept, the rest counted); everything that decides
 * (limits, timeouts, signals, sampling, records) stays in Node, which talks to
 * it over a pipe:
 *
 *   node -> perl   B <env-id> <k=v hex>...        define a base environment once (hex fields are 'x'-prefixed)
 *                  L <id> <env-id> <cwd hex> <command hex> <log hex> <cap> <k=v hex>...
 *                  Q <id>                          stop reading its output (exited, pipe held open)
 *   perl -> node   S <id> <pid>                    started
 *                  F <id> <message hex>            could not start
 *                  X <id> <errno> <message hex>    started, but its exec failed (E and C follow; its 127 is ours)
 *                  E <id> <code> <signal-number>   exited (reaped)
 *                  C <id> <bytes>                  output closed, log complete
 *
 * If perl is missing or the helper dies, launches fall back to Node's spawn.
 */
const PERL = `
use strict; use POSIX qw(:sys_wait_h setsid _exit O_WRONLY O_CREAT O_EXCL EEXIST); use Fcntl qw(O_NOFOLLOW); use IO::Select;
$SIG{$_} = 'IGNORE' for qw(PIPE INT TERM HUP); STDOUT->autoflush(1);
my (%env, %run, %byfh, %bypid, @execs); my $sel = IO::Select->new(\\*STDIN); my $buf = '';
sub hx { return pack('H*', substr(shift, 1)) }
sub out { print STDOUT join(' ', @_), "\\n" }
sub finish { my $r = shift; my $fh = $r->{fh}; if ($fh) { $sel->remove($fh); delete $byfh{fileno($fh)}; close($fh); $r->{fh} = undef }
  if ($r->{dropped} > 0) { logwrite($r, "\\n[conductor: output truncated, $r->{dropped} more bytes dropped]\\n", 1) }
  close($r->{log}) if $r->{log}; out('C', $r->{id}, $r->{kept} + $r->{dropped}); delete $run{$r->{id}} }
sub logwrite { my ($r, $data, $force) = @_;
  if (!$r->{log}) { my $l = logopen($r->{path}) or return; binmode $l; $r->{log} = $l }
  if ($force) { syswrite($r->{log}, $data); return }
  my $room = $r->{cap} - $r->{kept}; my $n = length($data);
  if ($room > 0) { my $part = $n <= $room ? $data : substr($data, 0, $room); syswrite($r->{log}, $part); $r->{kept} += length($part) }
  $r->{dropped} += $n - ($room > 0 ? ($n <= $room ? $n : $room) : 0) }
# A log is a new file: a name already there (a symlink planted in logs/) is unlinked, never written through.
sub logopen { my $p = shift; my $f = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW; my $l;
  return $l if sysopen($l, $p, $f, 0600); return undef unless $! == EEXIST; unlink($p); return sysopen($l, $p, $f, 0600) ? $l : undef }
sub launch { my ($id, $envid, $cwd, $cmd, $log, $cap, @extra) = @_;
  ($cwd, $cmd, $log) = (hx($cwd), hx($cmd), hx($log));
  if (!-d $cwd) { out('F', $id, 'x' . unpack('H*', "working directory $cwd does not exist")); return }
  pipe(my $r, my $w) or do { out('F', $id, 'x' . unpack('H*', "pipe: $!")); return };
  # Close-on-exec (perl's default): it reads EOF once the exec succeeded, or the errno of a failed one.
  pipe(my $er, my $ew) or do { close $r; close $w; out('F', $id, 'x' . unpack('H*', "pipe: $!")); return };
  my $pid = fork();
  if (!defined $pid) { close $_ for ($r, $w, $er, $ew); out('F', $id, 'x' . unpack('H*', "fork: $!")); return }
  if ($pid == 0) {
    close $r; close $er; open(STDIN, '<', '/dev/null'); open(STDOUT, '>&', $w); open(STDERR, '>&', $w); close $w;
    setsid(); chdir($cwd) or _exit(126); $SIG{$_} = 'DEFAULT' for qw(PIPE INT TERM HUP);
    %ENV = %{ $env{$envid} || {} }; for (@extra) { my ($k, $v) = split(/=/, hx($_), 2); $ENV{$k} = $v }
    exec('/bin/sh', '-c', $cmd) or do { syswrite($ew, ($! + 0) . ' ' . unpack('H*', "$!")); _exit(127) };
  }
  close $w; close $ew; my $rec = { id => $id, pid => $pid, fh => $r, path => $log, cap => $cap, kept => 0, dropped => 0 };
  $run{$id} = $rec; $byfh{fileno($r)} = $rec; $bypid{$pid} = $rec; $sel->add($r); out('S', $id, $pid); push @execs, [$id, $er] }
# After a batch of launches: each status pipe gives EOF as soon as its child has exec'd, so these reads are short.
sub execchecks { for (@execs) { my ($id, $er) = @$_; my $msg = ''; sysread($er, $msg, 4096); close $er;
  if ($msg =~ /^([0-9]+) ([0-9a-f]*)$/) { out('X', $id, $1, "x$2") } } @execs = () }
sub command { my @f = split(/ /, shift); my $op = shift @f; return unless defined $op;
  if ($op eq 'B') { my $id = shift @f; my %e; for (@f) { my ($k, $v) = split(/=/, hx($_), 2); $e{$k} = $v } $env{$id} = \\%e }
  elsif ($op eq 'L') { launch(@f) }
  elsif ($op eq 'Q') { my $r = $run{$f[0]}; finish($r) if $r } }
while (1) {
  # A handler whose output closed is about to be reapable: look again soon rather than at the next tick.
  # With nothing running it sleeps until the dispatcher writes (an idle daemon costs nothing).
  my $soon = grep { !$_->{fh} && !$_->{exited} } values %run;
  for my $fh ($sel->can_read(!%run ? undef : $soon ? 0.001 : 0.05)) {
    if ($fh == \\*STDIN) { my $n = sysread(STDIN, $buf, 65536, length $buf); exit(0) if !$n;
      while ((my $i = index($buf, "\\n")) >= 0) { command(substr($buf, 0, $i)); substr($buf, 0, $i + 1) = '' } execchecks(); next }
    my $r = $byfh{fileno($fh)} or next; my $data; my $n = sysread($fh, $data, 65536);
    if ($n) { logwrite($r, $data) } else { $sel->remove($fh); delete $byfh{fileno($fh)}; close($fh); $r->{fh} = undef; finish($r) if $r->{exited} }
  }
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) { my $r = delete $bypid{$pid} or next; $r->{exited} = 1;
    out('E', $r->{id}, ($? & 127) ? -1 : ($? >> 8), $? & 127); finish($r) if !$r->{fh} }
}
`;

const MAX_IN_HELPER = 900;

const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n as number, name]));

interface Pending {
  events: LaunchEvents;
  started: number;
  exit: { code: number | null; signal: string | null } | null;
  error: string | null;
  /** The exec failed: the exit status is the helper's, not a handler's. */
  execFailed: boolean;
  drainTimer: NodeJS.Timeout | null;
}

export interface Spawner {
  launch(req: LaunchRequest, events: LaunchEvents): boolean;
}

/** The Perl helper, started on first use; null where there is no perl. */
export function createSpawner(): Spawner | null {
  if (process.env.CONDUCTOR_SPAWNER === 'node' || !fs.existsSync('/usr/bin/perl')) return null;
  let child: ChildProcess | null = null;
  let dead = false;
  let seq = 0;
  let envSeq = 0;
  const envIds = new WeakMap<object, number>();
  const pending = new Map<string, Pending>();
  let inbuf = '';

  // Every field is hex after an 'x', so that none is empty and none holds a space or newline.
  const hex = (s: string) => `x${Buffer.from(s, 'utf8').toString('hex')}`;
  const settle = (id: string, p: Pending, bytes: number) => {
    pending.delete(id);
    if (p.drainTimer) clearTimeout(p.drainTimer);
    const exit = p.execFailed ? null : p.exit;
    p.events.done({ code: exit?.code ?? null, signal: exit?.signal ?? null, error: p.error, bytes, durationMs: Math.round(performance.now() - p.started) });
  };
  const onLine = (line: string) => {
    const [op, id, a, b] = line.split(' ');
    const p = pending.get(id);
    if (!p) return;
    if (op === 'S') p.events.spawned(Number(a));
    else if (op === 'F') {
      p.error = Buffer.from(a.slice(1), 'hex').toString('utf8');
      settle(id, p, 0);
    } else if (op === 'X') {
      p.execFailed = true;
      p.error = execFailure(Number(a), Buffer.from(b.slice(1), 'hex').toString('utf8'));
    } else if (op === 'E') {
      p.exit = Number(b) > 0 ? { code: null, signal: SIGNAL_NAMES.get(Number(b)) ?? `SIG${b}` } : { code: Number(a), signal: null };
      // Output held open by a background child must not hold the task: stop reading after a moment.
      p.drainTimer = setTimeout(() => child?.stdin?.write(`Q ${id}\n`), 200);
    } else if (op === 'C') settle(id, p, Number(a));
  };
  const start = (): ChildProcess | null => {
    if (child || dead) return child;
    try {
      // Its own process group and deaf to INT/TERM/HUP: a Ctrl-C or a stop signal is for the
      // dispatcher, which decides what happens to running handlers; the helper ends when its stdin does.
      // Its stderr is not ours to write to: it is the user's cron log, and the helper's only
      // words there would be perl's own ("Unable to flush stdout: Broken pipe" when the
      // dispatcher went first). Whatever goes wrong reaches Node as F/X lines or its death.
      child = spawn('/usr/bin/perl', ['-e', PERL], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    } catch {
      dead = true;
      return null;
    }
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      inbuf += d;
      let i: number;
      while ((i = inbuf.indexOf('\n')) >= 0) {
        onLine(inbuf.slice(0, i));
        inbuf = inbuf.slice(i + 1);
      }
    });
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    child.stdin!.on('error', () => undefined);
    const lost = () => {
      dead = true;
      child = null;
      // Runs in flight lose their output copy; their processes go on and end as the sampler and timeouts see them.
      for (const [id, p] of pending) {
        p.error ??= 'the spawner helper exited';
        settle(id, p, 0);
      }
    };
    child.on('exit', lost);
    child.on('error', lost);
    return child;
  };

  return {
    launch(req, events) {
      // select(2) in the helper watches at most 1,024 descriptors: past that, Node spawns.
      if (pending.size >= MAX_IN_HELPER) return false;
      const c = start();
      if (!c?.stdin?.writable) return false;
      // The launches of one dispatcher round go to the helper in one write.
      if (!c.stdin.writableCorked) {
        c.stdin.cork();
        process.nextTick(() => c.stdin?.uncork());
      }
      const base = req.baseEnv ?? req.env;
      let envId = envIds.get(base);
      if (envId === undefined) {
        envId = ++envSeq;
        envIds.set(base, envId);
        const vars = Object.entries(base).filter(([, v]) => v !== undefined).map(([k, v]) => hex(`${k}=${v}`));
        c.stdin.write(`B ${envId} ${vars.join(' ')}\n`);
      }
      const extra = req.baseEnv ? Object.entries(req.env).filter(([, v]) => v !== undefined).map(([k, v]) => hex(`${k}=${v}`)) : [];
      const id = String(++seq);
      pending.set(id, { events, started: performance.now(), exit: null, error: null, execFailed: false, drainTimer: null });
      c.stdin.write(`L ${id} ${envId} ${hex(req.cwd)} ${hex(req.command)} ${hex(req.logPath)} ${req.logCap} ${extra.join(' ')}\n`);
      return true;
    },
  };
}
