# conductor's launcher: hands each run to a keeper of its pool (keeper.pl, bundled before this file).
#
# Started by the dispatcher as `perl -e <keeper.pl + this file>` with stdin and stdout as pipes and
# stderr ignored, in its own process group, deaf to PIPE, INT, TERM and HUP; it exits when its
# stdin closes. Its keepers do not: each finishes its run without it and without the dispatcher.
# Why Perl: a fork of a small Perl process costs a fraction of a fork of Node (see launcher.ts).
#
# Protocol: one line per message, fields separated by one space. Every field that carries text is
# 'x' followed by its UTF-8 bytes in hex, so that none is empty and none holds a space or a newline.
#
#   dispatcher -> launcher
#     B <env-id> <k=v hex>...          define a base environment once, by number (a keeper gets it
#                                      with the first L that uses it)
#     L <id> <env-id> <cwd hex> <command hex> <log hex> <cap> <runfile hex> <boot-id hex>
#       <timeout-ms> <grace-ms> <k=v hex>...
#                                      run `/bin/sh -c COMMAND` in CWD with the base environment plus
#                                      the extra k=v pairs, under an idle keeper (a new one if none)
#   launcher -> dispatcher
#     P <id> <keeper-pid>              the keeper that has the run
#     F <id> <message hex>             the run did not start: no keeper could be forked (a keeper that
#                                      cannot write the run file says F too)
#     S <id> <handler-pid>             written by the keeper: its handler started
#     D <id> [<started-ms|-> <end fields>] written by the keeper: the run ended; the fields of the run
#                                      file's end line follow (the file has them too)
#     E <id>                           the keeper that had the run is idle again (after its D): the run
#                                      file has the end, should the D line have been lost
#     K <id> <wait-status>             the keeper died during the run: its run file has no end
#
# A keeper shares the launcher's stdout to write S, D and F (a line is one write, shorter than
# PIPE_BUF, so lines of many writers never mix) and one pipe back to the launcher, where it writes
# `I <pid>` when it is idle again. A keeper idle for IDLE_S seconds, or that has served MAX_RUNS
# runs (its run files and its memory stay small), is retired: its command pipe is closed.
$SIG{$_} = 'IGNORE' for qw(PIPE INT TERM HUP); STDOUT->autoflush(1);
my $IDLE_S = 10; my $MAX_RUNS = 1000;
my (%pool, %BLINE); my $inbuf = ''; my $idlebuf = '';
pipe(my $IDLE_R, my $IDLE_W) or die "pipe: $!";
sub out { syswrite(STDOUT, join(' ', @_) . "\n") }
sub now_s { return $HIRES ? Time::HiRes::time() : time() }

sub fork_keeper { pipe(my $cmd_r, my $cmd_w) or return;
  my $pid = fork(); if (!defined $pid) { close $cmd_r; close $cmd_w; return }
  if ($pid == 0) { close $cmd_w; close $_->{cmd} for values %pool; close STDIN; close $IDLE_R; keep($cmd_r, $IDLE_W) }
  close $cmd_r; $cmd_w->autoflush(1);
  # The keeper was forked with every base environment so far; a later one is sent before the first L using it.
  return $pool{$pid} = { pid => $pid, cmd => $cmd_w, busy => undef, runs => 0, idle_since => now_s(), envs => { map { $_ => 1 } keys %ENVS } } }

sub retire { my $k = shift; close $k->{cmd}; $k->{retired} = 1 }

# An idle keeper's pipe is empty, so these writes never wait on a keeper busy with a long run.
sub launch { my $line = shift; my (undef, $id, $envid) = split(/ /, $line, 4);
  my ($k) = grep { !$_->{busy} && !$_->{retired} } values %pool; $k ||= fork_keeper();
  if (!$k) { out('F', $id, xhex("fork: $!")); return }
  if (!$k->{envs}{$envid} && defined $BLINE{$envid}) { syswrite($k->{cmd}, "$BLINE{$envid}\n"); $k->{envs}{$envid} = 1 }
  $k->{busy} = $id; $k->{runs}++; out('P', $id, $k->{pid}); syswrite($k->{cmd}, "$line\n") }

sub command { my $line = shift; my ($op, $id) = split(/ /, $line, 3); return unless defined $op;
  if ($op eq 'B') { my @f = split(/ /, $line); shift @f; shift @f; $ENVS{$id} = { map { split(/=/, hx($_), 2) } @f }; $BLINE{$id} = $line }
  elsif ($op eq 'L') { launch($line) } }

# E repeats the keeper's D from here: a D the keeper gave up on (the dispatcher stopped, its pipe
# full) must not leave the run waiting forever.
sub idle { my $pid = shift; my $k = $pool{$pid} or return; out('E', $k->{busy}) if $k->{busy}; $k->{busy} = undef; $k->{idle_since} = now_s();
  retire($k) if $k->{runs} >= $MAX_RUNS }

sub reap { while ((my $pid = waitpid(-1, WNOHANG)) > 0) { my $k = delete $pool{$pid} or next;
  close $k->{cmd} unless $k->{retired}; out('K', $k->{busy}, $?) if $k->{busy} } }

sub retire_idle { my $now = now_s(); retire($_) for grep { !$_->{busy} && !$_->{retired} && $now - $_->{idle_since} > $IDLE_S } values %pool }

# A keeper's exit wakes the wait (wake_on_child, keeper.pl); with none running it sleeps until the
# dispatcher writes.
my $sel = IO::Select->new(\*STDIN, $IDLE_R, wake_on_child());
while (1) {
  reap(); retire_idle();
  my @ready = $sel->can_read(%pool ? 1 : undef);
  for my $fh (@ready) {
    if ($fh == $WAKE_R) { drain_wake(); next }
    if ($fh == $IDLE_R) { my $n = sysread($IDLE_R, $idlebuf, 4096, length $idlebuf);
      while ((my $i = index($idlebuf, "\n")) >= 0) { my (undef, $pid) = split(/ /, substr($idlebuf, 0, $i)); substr($idlebuf, 0, $i + 1) = ''; idle($pid) }
      next }
    my $n = sysread(STDIN, $inbuf, 65536, length $inbuf);
    next if !defined $n && $! == EINTR;
    if (!$n) { retire($_) for grep { !$_->{retired} } values %pool; exit(0) }
    while ((my $i = index($inbuf, "\n")) >= 0) { command(substr($inbuf, 0, $i)); substr($inbuf, 0, $i + 1) = '' } } }
