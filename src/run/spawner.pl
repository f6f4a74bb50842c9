# conductor's launcher helper: forks and execs handlers for the dispatcher (see spawner.ts for why).
#
# Started by Node as `perl -e <this file's text>` with stdin and stdout as pipes and stderr ignored,
# in its own process group, deaf to PIPE, INT, TERM and HUP; it exits when its stdin closes.
# Bundled into dist/conductor.cjs as text by scripts/build.mjs; `npm run lint` runs `perl -c` on it.
# Only POSIX, Fcntl and IO::Select: all in Debian's perl-base (Essential), so it is always there.
#
# Protocol: one line per message, fields separated by one space. Every field that carries text is
# 'x' followed by its UTF-8 bytes in hex, so that none is empty and none holds a space or a newline.
#
#   node -> perl   B <env-id> <k=v hex>...        define a base environment once, by number
#                  L <id> <env-id> <cwd hex> <command hex> <log hex> <cap> <k=v hex>...
#                                                 launch: `/bin/sh -c COMMAND` in CWD with the base
#                                                 environment plus the extra k=v pairs; output to LOG,
#                                                 at most CAP bytes kept
#                  Q <id>                         stop reading its output (it exited, a child holds the pipe)
#   perl -> node   S <id> <pid>                   started
#                  F <id> <message hex>           could not start (no working directory, pipe or fork failed)
#                  X <id> <errno> <message hex>   started, but its exec failed (E and C follow; its 127 is ours)
#                  E <id> <code> <signal-number>  exited (reaped); code -1 when killed by a signal
#                  C <id> <bytes>                 output closed, log complete; bytes = kept + dropped
#
# Fork and exec: the child reads /dev/null, writes stdout and stderr into one pipe to us, becomes
# the leader of a new session (setsid: its process group is what the dispatcher signals and samples),
# changes directory (exit 126 if it cannot), restores default signal handling, replaces its
# environment and execs /bin/sh -c. A second pipe, close-on-exec, reports exec failures: it reads
# EOF once the exec succeeded, or "<errno> <message hex>" written by a child whose exec failed
# (which then exits 127). These pipes are read after each batch of commands from Node: a child
# that exec'd closes its end at once, so the reads are short.
#
# Output: the first byte opens the log with O_EXCL and O_NOFOLLOW (a name already there, such as
# a symlink planted in logs/, is unlinked, never written through); past the cap bytes are counted,
# not written, and a "[conductor: output truncated, N more bytes dropped]" line ends the log.
# Everything that decides (limits, timeouts, signals, sampling, records) stays in Node.
use strict; use POSIX qw(:sys_wait_h setsid _exit O_WRONLY O_CREAT O_EXCL EEXIST); use Fcntl qw(O_NOFOLLOW); use IO::Select;
$SIG{$_} = 'IGNORE' for qw(PIPE INT TERM HUP); STDOUT->autoflush(1);
my (%env, %run, %byfh, %bypid, @execs); my $sel = IO::Select->new(\*STDIN); my $buf = '';
sub hx { return pack('H*', substr(shift, 1)) }
sub out { print STDOUT join(' ', @_), "\n" }
sub finish { my $r = shift; my $fh = $r->{fh}; if ($fh) { $sel->remove($fh); delete $byfh{fileno($fh)}; close($fh); $r->{fh} = undef }
  if ($r->{dropped} > 0) { logwrite($r, "\n[conductor: output truncated, $r->{dropped} more bytes dropped]\n", 1) }
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
  if ($op eq 'B') { my $id = shift @f; my %e; for (@f) { my ($k, $v) = split(/=/, hx($_), 2); $e{$k} = $v } $env{$id} = \%e }
  elsif ($op eq 'L') { launch(@f) }
  elsif ($op eq 'Q') { my $r = $run{$f[0]}; finish($r) if $r } }
while (1) {
  # A handler whose output closed is about to be reapable: look again soon rather than at the next tick.
  # With nothing running it sleeps until the dispatcher writes (an idle daemon costs nothing).
  my $soon = grep { !$_->{fh} && !$_->{exited} } values %run;
  for my $fh ($sel->can_read(!%run ? undef : $soon ? 0.001 : 0.05)) {
    if ($fh == \*STDIN) { my $n = sysread(STDIN, $buf, 65536, length $buf); exit(0) if !$n;
      while ((my $i = index($buf, "\n")) >= 0) { command(substr($buf, 0, $i)); substr($buf, 0, $i + 1) = '' } execchecks(); next }
    my $r = $byfh{fileno($fh)} or next; my $data; my $n = sysread($fh, $data, 65536);
    if ($n) { logwrite($r, $data) } else { $sel->remove($fh); delete $byfh{fileno($fh)}; close($fh); $r->{fh} = undef; finish($r) if $r->{exited} }
  }
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) { my $r = delete $bypid{$pid} or next; $r->{exited} = 1;
    out('E', $r->{id}, ($? & 127) ? -1 : ($? >> 8), $? & 127); finish($r) if !$r->{fh} }
}
