# conductor's launcher: forks a run keeper (keeper.pl, bundled before this file) for each handler.
#
# Started by the dispatcher as `perl -e <keeper.pl + this file>` with stdin and stdout as pipes and
# stderr ignored, in its own process group, deaf to PIPE, INT, TERM and HUP; it exits when its
# stdin closes. Its keepers do not: they go on without it and without the dispatcher (see keeper.pl).
# Why Perl: a fork of a small Perl process costs a fraction of a fork of Node (see launcher.ts).
#
# Protocol: one line per message, fields separated by one space. Every field that carries text is
# 'x' followed by its UTF-8 bytes in hex, so that none is empty and none holds a space or a newline.
#
#   dispatcher -> launcher
#     B <env-id> <k=v hex>...          define a base environment once, by number
#     L <id> <env-id> <cwd hex> <command hex> <log hex> <cap> <runfile hex> <boot-id hex>
#       <timeout-ms> <grace-ms> <k=v hex>...
#                                      start a keeper for `/bin/sh -c COMMAND` in CWD with the base
#                                      environment plus the extra k=v pairs (see keeper.pl)
#   launcher -> dispatcher
#     P <id> <keeper-pid>              keeper forked
#     F <id> <message hex>             no keeper: the fork failed (a keeper that cannot write its run
#                                      file says F too, then exits)
#     S <id> <handler-pid>             written by the keeper: its handler started
#     K <id> <wait-status>             the keeper exited and was reaped: its run file says how the
#                                      run ended (no end line: the keeper was killed)
#
# A keeper is forked with nothing of the launcher's but its stdout, which it shares to write S (a
# line is one write, shorter than PIPE_BUF, so lines of many writers never mix).
$SIG{$_} = 'IGNORE' for qw(PIPE INT TERM HUP); STDOUT->autoflush(1);
my (%env, %keepers); my $inbuf = '';
sub hx { return pack('H*', substr(shift, 1)) }
sub out { syswrite(STDOUT, join(' ', @_) . "\n") }
sub pairs { my %e; for (@_) { my ($k, $v) = split(/=/, hx($_), 2); $e{$k} = $v } return %e }
sub launch { my ($id, $envid, $cwd, $cmd, $log, $cap, $runfile, $boot, $timeout, $grace, @extra) = @_;
  my $r = { id => $id, cwd => hx($cwd), cmd => hx($cmd), path => hx($log), cap => $cap, runfile => hx($runfile),
    boot => hx($boot), timeout => $timeout, grace => $grace, env => { %{ $env{$envid} || {} }, pairs(@extra) } };
  my $pid = fork();
  if (!defined $pid) { out('F', $id, xhex("fork: $!")); return }
  if ($pid == 0) { keep($r) }
  $keepers{$pid} = $id; out('P', $id, $pid) }
sub command { my @f = split(/ /, shift); my $op = shift @f; return unless defined $op;
  if ($op eq 'B') { my $id = shift @f; $env{$id} = { pairs(@f) } }
  elsif ($op eq 'L') { launch(@f) } }
sub reap { while ((my $pid = waitpid(-1, WNOHANG)) > 0) { my $id = delete $keepers{$pid}; out('K', $id, $?) if defined $id } }
# Keepers' exits wake the wait (wake_on_child, keeper.pl); with none running it sleeps until the
# dispatcher writes.
my $sel = IO::Select->new(\*STDIN, wake_on_child());
while (1) {
  reap();
  my @ready = $sel->can_read(%keepers ? 0.25 : undef);
  if (grep { $_ == $WAKE_R } @ready) { drain_wake(); next unless grep { $_ == \*STDIN } @ready }
  next unless @ready;
  my $n = sysread(STDIN, $inbuf, 65536, length $inbuf);
  next if !defined $n && $! == EINTR;
  exit(0) if !$n;
  while ((my $i = index($inbuf, "\n")) >= 0) { command(substr($inbuf, 0, $i)); substr($inbuf, 0, $i + 1) = '' } }
