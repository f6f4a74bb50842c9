# conductor's run keeper: supervises one handler and outlives the dispatcher that started it.
#
# A keeper is a fork of the launcher (launcher.pl, the code that follows this file in the bundle):
# no exec, so starting one costs a fork. run/keeper-node.ts is the same keeper for hosts without
# perl, and run/run-file.ts reads what both write. `npm run lint` runs `perl -cw` on both files.
# Only POSIX, Fcntl, IO::Handle and IO::Select (Debian's perl-base, Essential); Time::HiRes when
# the full perl is there, else whole seconds and /proc/uptime's hundredths.
#
# What it does, in order:
#   1. becomes the leader of a session of its own (no terminal's Ctrl-C, not in the dispatcher's
#      process group or a unit's stop signal), ignores TERM, INT, HUP and PIPE: only SIGKILL ends it;
#      SIGUSR1 asks it to stop the handler (cancel, shutdown);
#   2. claims the run by creating its run file (RUNFILE) with its first line, by link(2) from a
#      temporary name: the file is complete when it appears, and appears once. If it is already
#      there (an adopter decided the run never started), the keeper exits 3 without starting it;
#   3. forks the handler: `/bin/sh -c COMMAND` in CWD as the leader of a new session (its process
#      group is what is signalled and sampled), stdin /dev/null, stdout and stderr into one pipe;
#      appends `handler PID` and tells the dispatcher `S <id> <pid>` (given up after a second if
#      the dispatcher is stopped and its pipe full: the run file has it);
#   4. copies output into LOG (opened on the first byte with O_EXCL|O_NOFOLLOW; a name already there,
#      such as a planted symlink, is unlinked, never written through), keeping CAP bytes and counting
#      the rest in a last "[conductor: output truncated, N more bytes dropped]" line;
#   5. at TIMEOUT_MS (0: none) or on SIGUSR1 sends TERM to the handler's group, KILL GRACE_MS later;
#      after such a stop whatever is left of the group gets KILL once the handler is reaped;
#   6. reaps the handler; a handler that exited while a child of its own holds the pipe is waited for
#      200 ms more, then output stops being read;
#   7. appends the end line and exits 0. The launcher reaps it and tells the dispatcher `K <id> ...`.
#
# The run file, one line each, fields separated by one space ('-' for none; text as 'x' + hex):
#   keeper <boot-id> <keeper-pid> <keeper-start-ticks> <claimed-ms>
#   handler <pid> <started-ms>
#   end <exit-code> <signal-number> <ended-ms> <duration-ms> <stopped> <output-bytes> <errno> <error>
# where *-ms are milliseconds since the epoch, duration-ms is measured on a monotonic clock,
# stopped is '-', 'timeout' or 'request', and errno is set when the exec failed (the 127 is ours).
# Each line is one write(2) to a file opened O_APPEND: a killed keeper leaves whole lines. Written
# and closed before the keeper exits, so the death of any process loses nothing; not fsynced: a
# power cut loses the runs that were going anyway (they are recorded abandoned after the reboot).
use strict; use POSIX qw(:sys_wait_h setsid _exit O_WRONLY O_CREAT O_EXCL O_APPEND EEXIST EINTR);
use Fcntl qw(O_NOFOLLOW F_GETFL F_SETFL O_NONBLOCK); use IO::Handle; use IO::Select;
my $HIRES = eval { require Time::HiRes; 1 };
sub now_ms { return $HIRES ? int(Time::HiRes::time() * 1000) : time() * 1000 }
sub mono_ms { if ($HIRES) { return int(Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) * 1000) }
  open(my $u, '<', '/proc/uptime') or return time() * 1000; my $l = <$u>; close $u; return int((split(/ /, $l))[0] * 1000) }
sub xhex { return 'x' . unpack('H*', shift) }
# A child's exit must wake a select at once: SIGCHLD writes a byte into a pipe the select watches
# (perl runs handlers between ops, so a signal that comes just before the select would otherwise
# be seen only when it times out).
our ($WAKE_R, $WAKE_W);
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
  my $why = ${ $r->{asked} } ? 'request' : ($r->{deadline} && $now >= $r->{deadline}) ? 'timeout' : '';
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
  syswrite($rf, join(' ', 'end', $code, $sig, $ended, $dur, $r->{stopped} || '-', $r->{kept} + $r->{dropped}, $r->{errno} // '-', $err) . "\n");
  close $rf }

# The keeper's life (called in the launcher's fork; never returns).
# SIGUSR1 sets $ASKED from the moment the launcher starts (a request that comes before keep() sets
# up must not be lost, nor end the keeper by USR1's default action).
our $ASKED = 0; $SIG{USR1} = sub { $ASKED = 1 };
sub keep { my $r = shift; $r->{asked} = \$ASKED;
  setsid(); open(STDIN, '<', '/dev/null'); $0 = "conductor keeper $r->{id}";
  $SIG{$_} = 'IGNORE' for qw(TERM INT HUP PIPE); wake_on_child();
  my $claimed = keeper_claim($r->{runfile}, join(' ', 'keeper', $r->{boot}, $$, self_ticks(), now_ms()));
  _exit(3) if $claimed eq 'taken';
  if ($claimed) { keeper_tell("F $r->{id} " . xhex("cannot write the run file: $claimed")); _exit(4) }
  my $rf; sysopen($rf, $r->{runfile}, O_WRONLY | O_APPEND | O_NOFOLLOW) or _exit(4);
  @$r{qw(kept dropped)} = (0, 0); $r->{grace} ||= 0;
  $r->{deadline} = $r->{timeout} > 0 ? mono_ms() + $r->{timeout} : 0;
  my $failed = $ASKED ? '' : keeper_start($r, $rf);
  if ($failed) { $r->{error} = $failed } elsif ($r->{pid}) { keeper_watch($r) } else { $r->{stopped} = 'request' }
  keeper_end($r, $rf); _exit(0) }
