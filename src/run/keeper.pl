# conductor's run keepers: each supervises one handler at a time and outlives the dispatcher.
#
# Keepers are forks of the launcher (launcher.pl, the code that follows this file in the bundle),
# kept in a pool: between runs a keeper waits for the next request on its own command pipe, so a
# run costs the fork of its handler and nothing more (a fork of perl costs ~0.8 ms of CPU on the
# machines we measured). run/keeper-node.ts is the same keeper, one process per run, for hosts
# without perl; run/run-file.ts reads what both write. `npm run lint` runs `perl -cw` on both files.
# Only POSIX, Fcntl, IO::Handle and IO::Select (Debian's perl-base, Essential); Time::HiRes when
# the full perl is there, else whole seconds and /proc/uptime's hundredths.
#
# A keeper is the leader of a session of its own (no terminal's Ctrl-C, not in the dispatcher's
# process group nor hit by a unit's stop signal) and ignores TERM, INT, HUP and PIPE: only SIGKILL
# ends it, and a handler that kills its parent ends only its own run's keeper. It reads from its
# command pipe the launcher's B lines (kept) and L lines (see launcher.pl), and for each L:
#   1. claims the run by creating its run file (RUNFILE) with its first line, by link(2) from a
#      temporary name: the file is complete when it appears, and appears once. If it is already
#      there (an adopter decided the run never started), the run is skipped (D, as if it ended);
#   2. unless RUNFILE.stop exists (a stop asked for before the start), forks the handler:
#      `/bin/sh -c COMMAND` in CWD as the leader of a new session (its process group is what is
#      signalled and sampled), stdin /dev/null, stdout and stderr into one pipe; appends
#      `handler PID STARTED-MS` and tells the dispatcher `S <id> <pid>` (given up after a second if
#      the dispatcher is stopped and its pipe full: the run file has it);
#   3. copies output into LOG (opened on the first byte with O_EXCL|O_NOFOLLOW; a name already there,
#      such as a planted symlink, is unlinked, never written through), keeping CAP bytes and counting
#      the rest in a last "[conductor: output truncated, N more bytes dropped]" line;
#   4. at TIMEOUT_MS (0: none), or on SIGUSR1 when RUNFILE.stop exists (the signal alone may be
#      meant for an earlier run), sends TERM to the handler's group, KILL GRACE_MS later; after such
#      a stop whatever is left of the group gets KILL once the handler is reaped;
#   5. reaps the handler; a handler that exited while a child of its own holds the pipe is waited for
#      200 ms more, then output stops being read;
#   6. appends the end line, tells the dispatcher `D <id> <started-ms> <the end line's fields>` and
#      the launcher `I <keeper-pid>` (idle).
# At EOF on its command pipe (the launcher retired it, or exited) it exits once its run is done.
#
# The run file, one line each, fields separated by one space ('-' for none; text as 'x' + hex):
#   keeper <boot-id> <keeper-pid> <keeper-start-ticks> <claimed-ms>
#   handler <pid> <started-ms>
#   end <exit-code> <signal-number> <ended-ms> <duration-ms> <stopped> <output-bytes> <errno> <error>
# or, written by an adopter that found no run file: `never <claimed-ms> <why>`. *-ms are
# milliseconds since the epoch, duration-ms is measured on a monotonic clock, stopped is '-',
# 'timeout' or 'request', and errno is set when the exec failed (the 127 is ours). Each line is one
# write(2) to a file opened O_APPEND: a killed keeper leaves whole lines. Written and closed before
# the keeper reports, so the death of any process loses nothing; not fsynced: a power cut loses the
# runs that were going anyway (they are recorded abandoned after the reboot).
use strict; use POSIX qw(:sys_wait_h setsid _exit O_WRONLY O_CREAT O_EXCL O_APPEND EEXIST EINTR);
use Fcntl qw(O_NOFOLLOW F_GETFL F_SETFL O_NONBLOCK); use IO::Handle; use IO::Select;
my $HIRES = eval { require Time::HiRes; 1 }; my $MONO = $HIRES ? Time::HiRes::CLOCK_MONOTONIC() : 0;
sub now_ms { return $HIRES ? int(Time::HiRes::time() * 1000) : time() * 1000 }
sub mono_ms { if ($HIRES) { return int(Time::HiRes::clock_gettime($MONO) * 1000) }
  open(my $u, '<', '/proc/uptime') or return time() * 1000; my $l = <$u>; close $u; return int((split(/ /, $l))[0] * 1000) }
sub xhex { return 'x' . unpack('H*', shift) }
sub hx { return pack('H*', substr(shift, 1)) }
# A child's exit must wake a select at once: SIGCHLD writes a byte into a pipe the select watches
# (perl runs handlers between ops, so a signal that comes just before the select would otherwise
# be seen only when it times out).
our ($WAKE_R, $WAKE_W);
# SIGUSR1 sets $ASKED from the moment the launcher starts (a request that comes before a keeper
# is ready must not end it by USR1's default action); what it asks is in RUNFILE.stop.
our $ASKED = 0; $SIG{USR1} = sub { $ASKED = 1; syswrite($WAKE_W, 'u') if $WAKE_W };
our %ENVS; our $SELF = '';
sub wake_on_child { close $WAKE_R if $WAKE_R; close $WAKE_W if $WAKE_W; pipe($WAKE_R, $WAKE_W) or die "pipe: $!";
  for ($WAKE_R, $WAKE_W) { my $fl = fcntl($_, F_GETFL, 0); fcntl($_, F_SETFL, $fl | O_NONBLOCK) }
  $SIG{CHLD} = sub { syswrite($WAKE_W, 'c') }; return $WAKE_R }
sub drain_wake { my $b; 1 while sysread($WAKE_R, $b, 512) }
sub self_ticks { open(my $s, '<', '/proc/self/stat') or return 0; my $l = <$s>; close $s; $l =~ s/^.*\) //s;
  return (split(/ /, $l))[19] // 0 }

sub keeper_claim { my ($file, $line) = @_; my $tmp = "$file.$$.tmp"; my $f;
  sysopen($f, $tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600) or return "create $tmp: $!";
  my $ok = syswrite($f, "$line\n"); close $f;
  if (!$ok) { my $e = "write $tmp: $!"; unlink $tmp; return $e }
  my $linked = link($tmp, $file); my $err = $!; unlink $tmp;
  return $linked ? '' : $err == EEXIST ? 'taken' : "link $file: $err" }

sub keeper_log { my ($r, $data, $force) = @_;
  if (!$r->{log}) { my $p = $r->{path}; my $f = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW; my $l;
    if (!sysopen($l, $p, $f, 0600)) { return unless $! == EEXIST; unlink($p); sysopen($l, $p, $f, 0600) or return }
    binmode $l; $r->{log} = $l }
  if ($force) { syswrite($r->{log}, $data); return }
  my $room = $r->{cap} - $r->{kept}; my $n = length($data);
  if ($room > 0) { my $part = $n <= $room ? $data : substr($data, 0, $room); syswrite($r->{log}, $part); $r->{kept} += length($part) }
  $r->{dropped} += $n - ($room > 0 ? ($n <= $room ? $n : $room) : 0) }

# The handler's process: a session of its own, the output pipe as stdout and stderr, then exec.
sub keeper_exec { my ($r, $w, $ew) = @_;
  open(STDIN, '<', '/dev/null'); open(STDOUT, '>&', $w); open(STDERR, '>&', $w); close $w;
  setsid(); chdir($r->{cwd}) or _exit(126); $SIG{$_} = 'DEFAULT' for qw(PIPE INT TERM HUP USR1 CHLD ALRM);
  %ENV = %{ $r->{env} }; exec('/bin/sh', '-c', $r->{cmd}) or do { syswrite($ew, ($! + 0) . ' ' . unpack('H*', "$!")); _exit(127) } }

sub keeper_tell { my $line = shift; local $SIG{ALRM} = sub { }; alarm(1); syswrite(STDOUT, "$line\n"); alarm(0) }

sub keeper_start { my ($r, $rf) = @_;
  return 'working directory ' . $r->{cwd} . ' does not exist' if !-d $r->{cwd};
  pipe(my $rd, my $w) or return "pipe: $!";
  # Close-on-exec (perl's default): EOF once the exec succeeded, or the errno of a failed one.
  pipe(my $er, my $ew) or do { close $rd; close $w; return "pipe: $!" };
  $r->{started} = now_ms(); $r->{m0} = mono_ms(); my $pid = fork();
  if (!defined $pid) { close $_ for ($rd, $w, $er, $ew); return "fork: $!" }
  keeper_exec($r, $w, $ew) if $pid == 0;
  close $w; close $ew; $r->{pid} = $pid; $r->{out} = $rd;
  syswrite($rf, "handler $pid $r->{started}\n"); keeper_tell("S $r->{id} $pid");
  my $msg = ''; 1 while !defined(sysread($er, $msg, 4096)) && $! == EINTR; close $er;
  if ($msg =~ /^([0-9]+) ([0-9a-f]*)$/) { $r->{errno} = $1; $r->{error} = pack('H*', $2) }
  return '' }

# Stops on a timeout or a request: TERM to the group now, KILL after the grace.
sub keeper_stops { my ($r, $now) = @_;
  return if $r->{exited};
  if ($ASKED) { $ASKED = 0; $r->{asked} = 1 if -e "$r->{runfile}.stop" }
  my $why = $r->{asked} ? 'request' : ($r->{deadline} && $now >= $r->{deadline}) ? 'timeout' : '';
  if ($why && !$r->{stopped}) { $r->{stopped} = $why; $r->{kill_at} = $now + $r->{grace}; kill('TERM', -$r->{pid}) }
  if ($r->{kill_at} && $now >= $r->{kill_at}) { kill('KILL', -$r->{pid}); $r->{kill_at} = 0 } }

sub keeper_wait_ms { my ($r, $now) = @_; my @t = (1000);
  push @t, $r->{deadline} - $now if $r->{deadline} && !$r->{stopped};
  push @t, $r->{kill_at} - $now if $r->{kill_at};
  push @t, $r->{drain_until} - $now if $r->{drain_until};
  my $ms = (sort { $a <=> $b } @t)[0]; return $ms < 0 ? 0 : $ms }

sub keeper_watch { my $r = shift; my $sel = IO::Select->new($r->{out}, $WAKE_R);
  while (1) {
    my $now = mono_ms();
    if (!$r->{exited} && waitpid($r->{pid}, WNOHANG) == $r->{pid}) {
      $r->{status} = $?; $r->{exited} = 1; $r->{ended} = now_ms(); $r->{duration} = $now - $r->{m0};
      $r->{drain_until} = $now + 200 if $r->{out} }
    keeper_stops($r, $now);
    if ($r->{exited} && $r->{out} && $now >= $r->{drain_until}) { close $r->{out}; $r->{out} = undef }
    last if $r->{exited} && !$r->{out};
    my $wait = keeper_wait_ms($r, $now) / 1000;
    for my $fh ($sel->can_read($wait)) { if ($fh == $WAKE_R) { drain_wake(); next } my $data; my $n = sysread($fh, $data, 65536);
      if ($n) { keeper_log($r, $data) } elsif (defined $n || $! != EINTR) { $sel->remove($fh); close $fh; $r->{out} = undef } } }
  kill('KILL', -$r->{pid}) if $r->{stopped} }

sub keeper_end { my ($r, $rf) = @_;
  if ($r->{dropped} > 0) { keeper_log($r, "\n[conductor: output truncated, $r->{dropped} more bytes dropped]\n", 1) }
  close($r->{log}) if $r->{log};
  my $st = $r->{status}; my ($code, $sig) = ('-', '-');
  if (defined $st) { if ($st & 127) { $sig = $st & 127 } else { $code = $st >> 8 } }
  my $ended = $r->{ended} // now_ms(); my $dur = $r->{duration} // 0;
  my $err = defined $r->{error} ? xhex($r->{error}) : '-';
  my $end = join(' ', $code, $sig, $ended, $dur, $r->{stopped} || '-', $r->{kept} + $r->{dropped}, $r->{errno} // '-', $err);
  syswrite($rf, "end $end\n"); close $rf; return $end }

# The keeper's life (called in the launcher's fork; never returns).

# One run, from the L line's fields (launcher.pl).
sub keeper_run { my ($id, $envid, $cwd, $cmd, $log, $cap, $runfile, $boot, $timeout, $grace, @extra) = @_;
  my %env = %{ $ENVS{$envid} || {} }; for (@extra) { my ($k, $v) = split(/=/, hx($_), 2); $env{$k} = $v }
  my $r = { id => $id, cwd => hx($cwd), cmd => hx($cmd), path => hx($log), cap => $cap, runfile => hx($runfile),
    timeout => $timeout, grace => $grace || 0, env => \%env, kept => 0, dropped => 0 };
  $0 = "conductor keeper $r->{id}";
  my $claimed = keeper_claim($r->{runfile}, join(' ', 'keeper', hx($boot), $SELF, now_ms()));
  if ($claimed eq 'taken') { keeper_tell("D $id"); return }
  if ($claimed) { keeper_tell("F $id " . xhex("cannot write the run file: $claimed")); return }
  my $rf; if (!sysopen($rf, $r->{runfile}, O_WRONLY | O_APPEND | O_NOFOLLOW)) { keeper_tell("F $id " . xhex("cannot open the run file: $!")); return }
  $ASKED = 0; $r->{deadline} = $timeout > 0 ? mono_ms() + $timeout : 0;
  my $failed = -e "$r->{runfile}.stop" ? '' : keeper_start($r, $rf);
  if ($failed) { $r->{error} = $failed } elsif ($r->{pid}) { keeper_watch($r) } else { $r->{stopped} = 'request' }
  # The end goes to the dispatcher with D, saving it a read of the run file (unless too long for one write).
  my $d = "D $id " . ($r->{started} // '-') . ' ' . keeper_end($r, $rf); keeper_tell(length($d) < 3000 ? $d : "D $id") }

# A keeper's life (called in the launcher's fork; never returns): runs, one at a time, until EOF.
sub keep { my ($cmd_r, $idle_w) = @_;
  setsid(); open(STDIN, '<', '/dev/null'); $0 = 'conductor keeper';
  $SIG{$_} = 'IGNORE' for qw(TERM INT HUP PIPE); wake_on_child();
  $SELF = "$$ " . self_ticks(); my $buf = '';
  while (1) {
    my $n = sysread($cmd_r, $buf, 65536, length $buf);
    next if !defined $n && $! == EINTR;
    _exit(0) if !$n;
    while ((my $i = index($buf, "\n")) >= 0) {
      my @f = split(/ /, substr($buf, 0, $i)); substr($buf, 0, $i + 1) = ''; my $op = shift @f;
      if ($op eq 'B') { my $envid = shift @f; $ENVS{$envid} = { map { split(/=/, hx($_), 2) } @f } }
      elsif ($op eq 'L') { keeper_run(@f); syswrite($idle_w, "I $$\n") } } } }
