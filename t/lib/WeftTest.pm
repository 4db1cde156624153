package WeftTest;

# WeftTest — the harness of weft's Perl integration tests.
#
# Each test file makes its own server in a temporary ServerRoot:
#
#   my $w = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => 'hi' });
#   DirectoryIndex index.html
#   EOF
#   $w->start;                       # build/weft -d ROOT -f conf/weft.conf -D FOREGROUND
#   my $r = $w->get('/');            # $r->{status}, $r->{headers}{'content-type'}, $r->{body}
#   $w->stop;                        # TERM, wait, KILL if needed (also done by DESTROY)
#
# The configuration body gets @PORT@, @PORT2@, @PORT3@ ... and @ROOT@
# substituted; unless the body has them, these lines are appended:
#   Listen 127.0.0.1:@PORT@, PidFile logs/weft.pid, ErrorLog logs/error_log,
#   CustomLog logs/access_log common, DocumentRoot "@ROOT@/www",
#   and a small MPM sizing (only if no MPM sizing directive is present).
# `bare => 1` appends nothing.
#
# The binary is $ENV{WEFT_BINARY} (relative to the repository root or the
# current directory) or build/weft.  Everything time-bounded is scaled by
# WeftTest::scale(), 2 for a sanitizer build (WEFT_TIMEOUT_SCALE overrides).
#
# Only core Perl modules.  Every network wait has a deadline; every loop is
# bounded.  Processes are only ever signalled by the pid we spawned or read
# from our own PidFile (and the children of that pid).

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path getcwd);
use Errno qw(EAGAIN EINTR EWOULDBLOCK ECONNRESET EPIPE ESRCH);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;
use File::Temp qw(tempdir);
use IO::Handle;
use IO::Select;
use IO::Socket::IP;
use POSIX qw(WNOHANG _exit);
use Scalar::Util qw(weaken refaddr);
use Socket qw(SOL_SOCKET SO_RCVBUF SO_LINGER IPPROTO_TCP);
use Time::HiRes qw(time sleep);
use Test::More ();

our @EXPORT_OK = qw(free_port wait_for scale read_response send_raw wait_closed);

$SIG{PIPE} = 'IGNORE';

# ----------------------------------------------------------------------
# Binary and time scale

our $REPO_ROOT = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), '..', '..'));

sub binary {
    my $bin = $ENV{WEFT_BINARY} // 'build/weft';
    return $bin if File::Spec->file_name_is_absolute($bin);
    my $here = File::Spec->rel2abs($bin);
    return $here if -e $here;
    return File::Spec->catfile($REPO_ROOT, $bin);
}

sub is_sanitized {
    my $bin = binary();
    return 1 if $bin =~ m{/asan/|asan|tsan|sanit}i;
    return 0;
}

sub scale {
    my ($seconds) = @_;
    my $factor = $ENV{WEFT_TIMEOUT_SCALE} // (is_sanitized() ? 2 : 1);
    return defined $seconds ? $seconds * $factor : $factor;
}

our $TIMEOUT = 10;    # default network deadline, before scaling

sub check_binary {
    my $bin = binary();
    return if -x $bin;
    Test::More::BAIL_OUT("weft binary '$bin' does not exist or is not executable (run make first)");
}

# ----------------------------------------------------------------------
# Small utilities

my %handed_out_ports;

# A free TCP port on 127.0.0.1: bind port 0 and read it back.
sub free_port {
    for my $attempt (1 .. 50) {
        my $s = IO::Socket::IP->new(
            LocalHost => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1, ReuseAddr => 0,
        ) or next;
        my $port = $s->sockport;
        close $s;
        next if $handed_out_ports{$port}++;
        return $port;
    }
    croak "no free port found";
}

# Polls $code every $interval seconds until it returns true or $timeout
# (seconds, already scaled by the caller if wanted) has passed.  Returns the
# last value of $code.
sub wait_for {
    my ($code, $timeout, $interval) = @_;
    $timeout //= scale($TIMEOUT);
    $interval //= 0.05;
    my $deadline = time + $timeout;
    my $value;
    for (my $i = 0; $i < 1_000_000; $i++) {
        $value = $code->();
        return $value if $value;
        last if time >= $deadline;
        sleep $interval;
    }
    return $value;
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data // '';
}

sub _spew {
    my ($path, $data) = @_;
    make_path(dirname($path), { mode => 0755 });
    open my $fh, '>:raw', $path or croak "cannot write $path: $!";
    print {$fh} $data;
    close $fh or croak "cannot close $path: $!";
}

# Is pid gone (no such process, or a zombie nobody reaped yet)?
sub _pid_gone {
    my ($pid) = @_;
    return 1 unless $pid && $pid > 0;
    return 1 unless kill 0, $pid;
    my $stat = _slurp("/proc/$pid/stat");
    return 1 unless defined $stat;
    return 1 if $stat =~ /^\d+ \(.*\) Z /s;
    return 0;
}

# All processes as { pid => { ppid, state, comm } } from /proc/*/stat.
sub _processes {
    my %procs;
    opendir my $dh, '/proc' or return {};
    for my $entry (readdir $dh) {
        next unless $entry =~ /^\d+$/;
        my $stat = _slurp("/proc/$entry/stat");
        next unless defined $stat && $stat =~ /^(\d+) \((.*)\) (\S) (-?\d+)/s;
        $procs{$1} = { pid => $1, comm => $2, state => $3, ppid => $4 };
    }
    closedir $dh;
    return \%procs;
}

# ----------------------------------------------------------------------
# Constructor and files

my %LIVE;    # refaddr => weak ref, for END

sub new {
    my ($class, %args) = @_;
    check_binary();
    my $dir = tempdir('weft-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    # Children run as an unprivileged user when the suite runs as root:
    # the tree must be readable by anyone.
    chmod 0755, $dir;
    my $self = bless {
        root     => $dir,
        owner    => $$,
        ports    => { PORT => free_port() },
        args     => $args{args} || [],
        pid      => undef,
        detached => 0,
        bare     => $args{bare} ? 1 : 0,
        output   => "$dir/weft.out",
        timeout  => $args{timeout},
    }, $class;
    make_path("$dir/$_", { mode => 0755 }) for qw(conf www logs);
    chmod 0755, "$dir/$_" for qw(conf www logs);
    for my $d (@{ $args{dirs} || [] }) {
        make_path("$dir/$d", { mode => 0755 });
        chmod 0755, "$dir/$d";
    }
    my $files = $args{files} || {};
    for my $name (sort keys %$files) {
        $self->write_file($name, $files->{$name});
    }
    my $links = $args{symlinks} || {};
    for my $name (sort keys %$links) {
        my $path = $self->path($name);
        make_path(dirname($path), { mode => 0755 });
        symlink($self->subst($links->{$name}), $path) or croak "symlink $path: $!";
    }
    $self->write_conf($args{conf} // '') unless $args{no_conf};
    my $key = refaddr($self);
    $LIVE{$key} = $self;
    weaken($LIVE{$key});
    return $self;
}

sub root { $_[0]{root} }
sub port { $_[0]{ports}{PORT} }
sub pid  { $_[0]{pid} }

# @PORTn@ for n >= 2: allocated on first use, stable afterwards.
sub port_n {
    my ($self, $n) = @_;
    my $key = $n == 1 ? 'PORT' : "PORT$n";
    $self->{ports}{$key} //= free_port();
    return $self->{ports}{$key};
}
sub port2 { $_[0]->port_n(2) }

sub path {
    my ($self, $rel) = @_;
    return $rel if File::Spec->file_name_is_absolute($rel);
    return "$self->{root}/$rel";
}

sub subst {
    my ($self, $text) = @_;
    $text =~ s/\@PORT(\d*)\@/$self->port_n($1 eq '' ? 1 : $1)/ge;
    $text =~ s/\@ROOT\@/$self->{root}/g;
    return $text;
}

# write_file('www/a.txt', 'content') or write_file($rel, { content, mode, mtime })
sub write_file {
    my ($self, $rel, $spec) = @_;
    $spec = { content => $spec } unless ref $spec;
    my $path = $self->path($rel);
    _spew($path, $spec->{content} // '');
    chmod(defined $spec->{mode} ? $spec->{mode} : 0644, $path);
    utime($spec->{mtime}, $spec->{mtime}, $path) if defined $spec->{mtime};
    return $path;
}

sub read_file {
    my ($self, $rel) = @_;
    return _slurp($self->path($rel));
}

sub conf_path { $_[0]->path('conf/weft.conf') }

# The configuration as written (after substitution and additions).
sub conf_text { _slurp($_[0]->conf_path) }

sub write_conf {
    my ($self, $body, %o) = @_;
    my $bare = $o{bare} // $self->{bare};
    my $text = $body;
    $text .= "\n" if length $text && $text !~ /\n\z/;
    unless ($bare) {
        my @add;
        my $has = sub { my $name = shift; return $text =~ /^\s*$name\b/mi };
        push @add, 'Listen 127.0.0.1:@PORT@' unless $has->('Listen');
        push @add, 'PidFile logs/weft.pid' unless $has->('PidFile');
        push @add, 'ErrorLog logs/error_log' unless $has->('ErrorLog');
        push @add, 'CustomLog logs/access_log common' unless $has->('CustomLog');
        push @add, 'DocumentRoot "@ROOT@/www"' unless $has->('DocumentRoot');
        unless ($text =~ /^\s*(StartServers|MinSpareThreads|MaxSpareThreads|ThreadsPerChild|MaxClients|MaxRequestWorkers|ServerLimit|ThreadLimit)\b/mi) {
            push @add, 'StartServers 1', 'ThreadsPerChild 8', 'MinSpareThreads 2',
                'MaxSpareThreads 24', 'MaxClients 4';
        }
        $text .= "# --- added by t/lib/WeftTest.pm ---\n" . join('', map { "$_\n" } @add) if @add;
    }
    $text = $self->subst($text);
    _spew($self->conf_path, $text);
    chmod 0644, $self->conf_path;
    return $text;
}

sub _conf_log_path {
    my ($self, $directive, $default) = @_;
    my $text = $self->conf_text // '';
    my $path = $default;
    if ($text =~ /^\s*$directive\s+("([^"]+)"|(\S+))/mi) {
        $path = defined $2 ? $2 : $3;
    }
    return $self->path($path);
}

sub pid_file   { $_[0]->_conf_log_path('PidFile', 'logs/weft.pid') }
sub error_log_path  { $_[0]->_conf_log_path('ErrorLog', 'logs/error_log') }
sub access_log_path { $_[0]->_conf_log_path('CustomLog', 'logs/access_log') }

sub error_log  { _slurp($_[0]->error_log_path) // '' }
sub access_log { _slurp($_[0]->access_log_path) // '' }
sub output     { _slurp($_[0]{output}) // '' }

# Waits until the error log matches $re; returns the match or ''.
sub wait_error_log {
    my ($self, $re, $timeout) = @_;
    return wait_for(sub { $self->error_log =~ $re }, $timeout // scale(10)) ? 1 : 0;
}

# Waits until the access log has at least $n lines; returns the lines.
sub wait_access_log_lines {
    my ($self, $n, $timeout) = @_;
    my @lines;
    wait_for(sub {
        @lines = split /\n/, $self->access_log;
        return @lines >= $n;
    }, $timeout // scale(5));
    return @lines;
}

# ----------------------------------------------------------------------
# Running the binary

sub weft_args {
    my ($self) = @_;
    return ('-d', $self->{root}, '-f', 'conf/weft.conf');
}

# Runs the binary synchronously (class or instance method).
# Returns (exit code, stdout, stderr); exit code is -N if killed by signal N,
# and -1 (after KILL) if it did not finish within the timeout.
# Options as a leading hashref: { cwd => dir, timeout => s, env => {...} }.
sub run_weft {
    my ($self, @args) = @_;
    my $o = ref $args[0] eq 'HASH' ? shift @args : {};
    my $dir = ref $self ? $self->{root} : tempdir('weft-run-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $cwd = $o->{cwd} // $dir;
    my $n = $WeftTest::run_counter++;
    my $out = "$dir/run-$$-$n.out";
    my $err = "$dir/run-$$-$n.err";
    my $bin = binary();
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or _exit(127);
        open STDERR, '>', $err or _exit(127);
        chdir $cwd or _exit(127);
        %ENV = (%ENV, %{ $o->{env} || {} });
        $SIG{PIPE} = "DEFAULT";    # as a real server starts, not with our IGNORE
        { no warnings "exec"; exec { $bin } $bin, @args; }
        print STDERR "weft-test: cannot exec $bin: $!\n";
        _exit(127);
    }
    my $timeout = $o->{timeout} // scale(20);
    my $deadline = time + $timeout;
    my $status;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; last }
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $status = undef;
            last;
        }
        sleep 0.01;
    }
    my $code = !defined $status ? -1 : ($status & 127) ? -($status & 127) : ($status >> 8);
    my ($so, $se) = (_slurp($out) // '', _slurp($err) // '');
    unlink $out, $err;
    return ($code, $so, $se);
}
our $run_counter = 0;

# -k COMMAND with this instance's configuration; returns (code, out, err).
sub ctl {
    my ($self, $command, @extra) = @_;
    return $self->run_weft($self->weft_args, @{ $self->{args} }, '-k', $command, @extra);
}

# Takes the pid in the PidFile as this instance's (detached) control process.
sub adopt_pid_file {
    my ($self, $timeout) = @_;
    my $pid = wait_for(sub {
        my $text = _slurp($self->pid_file);
        return defined $text && $text =~ /^\s*(\d+)\s*$/ && !_pid_gone($1) ? $1 : 0;
    }, $timeout // scale(10));
    return 0 unless $pid;
    $self->{pid} = $pid;
    $self->{detached} = 1;
    $self->{spawned} = undef;
    return $pid;
}

# -t with this instance's configuration (plus extra arguments).
sub check_config {
    my ($self, @extra) = @_;
    return $self->run_weft($self->weft_args, '-t', @extra);
}

# Is something listening on 127.0.0.1:$port (or any address)?  Read from
# /proc/net/tcp{,6} so that the check itself opens no connection.
sub _listening {
    my ($port) = @_;
    my $hex = sprintf '%04X', $port;
    my $seen_file = 0;
    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        my $data = _slurp($file);
        next unless defined $data;
        $seen_file = 1;
        for my $line (split /\n/, $data) {
            my @f = split ' ', $line;
            next unless @f > 4 && $f[1] =~ /:([0-9A-F]{4})$/;
            return 1 if $1 eq $hex && $f[3] eq '0A';
        }
    }
    return 0 if $seen_file;
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => 1);
    return $s ? 1 : 0;
}

# Starts the server.  Options: args => [...] (extra command-line arguments),
# base_args => [...] (instead of -d ROOT -f conf/weft.conf),
# foreground => 0 (detach; the pid is then read from the PidFile),
# x => 1 (-X instead of -D FOREGROUND), wait_port => port to wait for.
# Dies with the output and error log if it does not come up.
sub start {
    my ($self, %o) = @_;
    my ($ok, $why) = $self->try_start(%o);
    return 1 if $ok;
    croak "weft did not start: $why\n--- output ---\n" . $self->output
        . "\n--- error log ---\n" . $self->error_log . "\n";
}

# Like start, but returns (1) or (0, reason) instead of dying.
sub try_start {
    my ($self, %o) = @_;
    croak "already started" if $self->{pid} && !_pid_gone($self->{pid});
    my @base = $o{base_args} ? @{ $o{base_args} } : $self->weft_args;
    my @args = (@base, @{ $self->{args} }, @{ $o{args} || [] });
    my $foreground = $o{foreground} // 1;
    if ($o{x}) {
        push @args, '-X';
    } elsif ($foreground) {
        push @args, '-D', 'FOREGROUND';
    }
    my $port = $o{wait_port} // $self->port;
    my $timeout = $o{timeout} // scale(10);
    my $bin = binary();
    unlink $self->pid_file unless $o{keep_pid_file};
    $self->{detached} = $foreground || $o{x} ? 0 : 1;
    $self->{exit_status} = undef;
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{output} or _exit(127);
        open STDERR, '>&', \*STDOUT or _exit(127);
        chdir($o{cwd} // $self->{root}) or _exit(127);
        $SIG{PIPE} = "DEFAULT";    # as a real server starts, not with our IGNORE
        { no warnings "exec"; exec { $bin } $bin, @args; }
        print STDERR "weft-test: cannot exec $bin: $!\n";
        _exit(127);
    }
    $self->{spawned} = $pid;
    my $deadline = time + $timeout;
    if ($self->{detached}) {
        # The launcher exits once the daemon is on its way; then the PidFile.
        my $status;
        wait_for(sub {
            my $r = waitpid($pid, WNOHANG);
            $status = $? if $r == $pid;
            return $r == $pid || $r == -1;
        }, $timeout);
        unless (defined $status) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            return (0, "launcher did not exit within ${timeout}s");
        }
        $self->{spawned} = undef;
        return (0, "launcher exited with status " . ($status >> 8)) if $status != 0;
        my $daemon = wait_for(sub {
            my $text = _slurp($self->pid_file);
            return defined $text && $text =~ /^\s*(\d+)\s*$/ ? $1 : 0;
        }, $deadline - time);
        return (0, "no PidFile " . $self->pid_file) unless $daemon;
        $self->{pid} = $daemon;
    } else {
        $self->{pid} = $pid;
    }
    my $up = wait_for(sub {
        return 'dead' if $self->_reap_spawned;
        return 'dead' if $self->{detached} && _pid_gone($self->{pid});
        return _listening($port) ? 'up' : 0;
    }, $deadline - time);
    if (!$up || $up eq 'dead') {
        my $why = !$up ? "port $port not listening within ${timeout}s"
            : "process exited (" . $self->_describe_exit . ")";
        $self->_kill_everything;
        return (0, $why);
    }
    return (1);
}

# Reaps the foreground process if it has exited; true if it has.
sub _reap_spawned {
    my ($self) = @_;
    my $pid = $self->{spawned} or return 0;
    return 1 if defined $self->{exit_status};
    my $r = waitpid($pid, WNOHANG);
    if ($r == $pid) {
        $self->{exit_status} = $?;
        return 1;
    }
    return $r == -1 ? 1 : 0;
}

sub _describe_exit {
    my ($self) = @_;
    my $s = $self->{exit_status};
    return 'unknown' unless defined $s;
    return 'killed by signal ' . ($s & 127) if $s & 127;
    return 'exit code ' . ($s >> 8);
}

sub exit_status { $_[0]{exit_status} }

sub running {
    my ($self) = @_;
    return 0 unless $self->{pid};
    if ($self->{spawned} && $self->{spawned} == $self->{pid}) {
        return $self->_reap_spawned ? 0 : 1;
    }
    return _pid_gone($self->{pid}) ? 0 : 1;
}

sub signal {
    my ($self, $sig) = @_;
    return 0 unless $self->{pid};
    return kill $sig, $self->{pid};
}

# Children of the control process (not zombies).  The kernel's list of a
# task's children is one atomic snapshot; scanning /proc is not (a scan can
# take longer than a recycled child lives, and then shows none).
sub child_pids {
    my ($self, $pid) = @_;
    $pid //= $self->{pid};
    return wantarray ? () : 0 unless $pid;
    my $list = _slurp("/proc/$pid/task/$pid/children");
    my @kids;
    if (defined $list) {
        for my $kid (split ' ', $list) {
            my $stat = _slurp("/proc/$kid/stat");
            next if defined $stat && $stat =~ /^\d+ \(.*\) Z /s;
            push @kids, $kid;
        }
    } else {
        my $procs = _processes();
        @kids = map { $_->{pid} } grep { $_->{ppid} == $pid && $_->{state} ne 'Z' } values %$procs;
    }
    @kids = sort { $a <=> $b } @kids;
    return wantarray ? @kids : scalar @kids;
}

sub threads_of {
    my ($self, $pid) = @_;
    opendir my $dh, "/proc/$pid/task" or return 0;
    my $n = grep { /^\d+$/ } readdir $dh;
    closedir $dh;
    return $n;
}

# (real, effective, saved, fs) uid / gid of a process from /proc/PID/status.
sub uids_of {
    my ($self, $pid) = @_;
    my $status = _slurp("/proc/$pid/status") // '';
    return $status =~ /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m ? ($1, $2, $3, $4) : ();
}
sub gids_of {
    my ($self, $pid) = @_;
    my $status = _slurp("/proc/$pid/status") // '';
    return $status =~ /^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m ? ($1, $2, $3, $4) : ();
}

sub _kill_everything {
    my ($self) = @_;
    my $pid = $self->{pid} // $self->{spawned};
    my @kids = $pid ? $self->child_pids($pid) : ();
    kill 'KILL', $pid if $pid && !_pid_gone($pid);
    kill 'KILL', grep { !_pid_gone($_) } @kids;
    if ($self->{spawned}) {
        wait_for(sub { $self->_reap_spawned }, scale(5));
    }
    wait_for(sub { !grep { !_pid_gone($_) } @kids }, scale(5));
    $self->{pid} = undef;
}

# Stops the server: TERM to the control process, wait, then KILL (the control
# process and any of its children still there).  Unless called with
# check => 0 (as DESTROY does), it reports two checks: a clean exit status
# (foreground only) and the absence of sanitizer reports.
sub stop {
    my ($self, %o) = @_;
    return 1 unless $$ == $self->{owner};
    my $check = $o{check} // 1;
    my $pid = $self->{pid};
    my $clean = 1;
    my $exit_text = 'not running';
    if ($pid) {
        my @kids = $self->child_pids($pid);
        if (!_pid_gone($pid) && !($self->{spawned} && $self->_reap_spawned)) {
            kill 'TERM', $pid;
        }
        my $gone = wait_for(sub {
            return $self->_reap_spawned if $self->{spawned} && $self->{spawned} == $pid;
            return _pid_gone($pid);
        }, $o{timeout} // scale(10));
        unless ($gone) {
            $clean = 0;
            $exit_text = "did not exit within the deadline after TERM; killed";
            kill 'KILL', $pid;
            wait_for(sub { $self->{spawned} ? $self->_reap_spawned : _pid_gone($pid) }, scale(5));
        }
        my $kids_gone = wait_for(sub { !grep { !_pid_gone($_) } @kids }, scale(10));
        unless ($kids_gone) {
            $clean = 0;
            $exit_text .= "; children left after the control process exited: "
                . join(' ', grep { !_pid_gone($_) } @kids);
            kill 'KILL', grep { !_pid_gone($_) } @kids;
        }
        if ($gone && $self->{spawned} && $self->{spawned} == $pid) {
            my $s = $self->{exit_status};
            $exit_text = $self->_describe_exit;
            $clean = 0 if !defined $s || $s != 0;
        } elsif ($gone) {
            $exit_text = 'exited' if $clean;
        }
        $self->{pid} = undef;
        $self->{spawned} = undef;
    }
    if ($check && $pid) {
        my $name = $o{name} // 'weft';
        Test::More::ok($clean, "$name: stops cleanly on TERM ($exit_text)")
            or Test::More::diag("output:\n" . _tail($self->output, 40));
        $self->check_sanitizer($name);
    }
    return $clean;
}

sub _tail {
    my ($text, $n) = @_;
    my @lines = split /\n/, $text // '';
    @lines = @lines[-$n .. -1] if @lines > $n;
    return join("\n", @lines);
}

our $SANITIZER_RE = qr/ERROR: (?:Address|Leak|Thread|Memory)Sanitizer|SUMMARY: \w+Sanitizer|runtime error: /;

sub sanitizer_report {
    my ($self) = @_;
    my $report = '';
    for my $text ($self->output, $self->error_log) {
        next unless $text =~ $SANITIZER_RE;
        my @lines = grep { /Sanitizer|runtime error|^\s+#\d+ / } split /\n/, $text;
        $report .= join("\n", @lines[0 .. ($#lines < 30 ? $#lines : 30)]) . "\n";
    }
    return $report;
}

sub check_sanitizer {
    my ($self, $name) = @_;
    my $report = $self->sanitizer_report;
    Test::More::ok($report eq '', ($name // 'weft') . ': no sanitizer report in its output or error log')
        or Test::More::diag($report);
}

sub DESTROY {
    my ($self) = @_;
    return unless $self->{owner} && $$ == $self->{owner};
    local ($?, $!, $@);
    $self->stop(check => 0) if $self->{pid} || $self->{spawned};
}

END {
    for my $w (values %LIVE) {
        next unless $w && $w->{owner} == $$;
        local ($?, $!, $@);
        $w->stop(check => 0) if $w->{pid};
    }
}

# ----------------------------------------------------------------------
# Client side

sub host_header { '127.0.0.1:' . $_[0]->port }

# A fresh connection (IO::Socket::IP) to the server, or undef.
# Options: port, host, rcvbuf (set SO_RCVBUF before connecting).
sub connect {
    my ($self, %o) = @_;
    my $port = $o{port} // $self->port;
    my $host = $o{host} // '127.0.0.1';
    my $timeout = $o{timeout} // scale($TIMEOUT);
    my $sock;
    if ($o{rcvbuf}) {
        $sock = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Proto => 'tcp',
            Blocking => 1, Timeout => $timeout, Sockopts => [[SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}]]);
    } else {
        $sock = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Proto => 'tcp',
            Timeout => $timeout);
    }
    return undef unless $sock;
    $sock->autoflush(1);
    binmode $sock;
    ${*$sock}{weft_buffer} = '';
    return $sock;
}

# Writes all of $data; returns 1, or 0 if the peer closed or the deadline passed.
sub send_raw {
    my ($sock, $data, $timeout) = @_;
    $timeout //= scale($TIMEOUT);
    my $deadline = time + $timeout;
    my $off = 0;
    my $sel = IO::Select->new($sock);
    while ($off < length $data) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        next unless $sel->can_write($left);
        my $n = syswrite($sock, $data, length($data) - $off, $off);
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN;
            return 0;
        }
        $off += $n;
    }
    return 1;
}

# Reads more bytes into the socket's buffer.  Returns the count read, 0 at
# end of stream, undef on timeout or error ($! set; 'timeout' in $_[2]).
sub _fill {
    my ($sock, $deadline) = @_;
    my $buf = \${*$sock}{weft_buffer};
    $$buf //= '';
    my $sel = IO::Select->new($sock);
    for (my $i = 0; $i < 1_000_000; $i++) {
        my $left = $deadline - time;
        if ($left <= 0) { ${*$sock}{weft_error} = 'timeout'; return undef }
        next unless $sel->can_read($left);
        my $n = sysread($sock, $$buf, 65536, length $$buf);
        if (!defined $n) {
            next if $! == EINTR || $! == EAGAIN;
            ${*$sock}{weft_error} = $! == ECONNRESET ? 'reset' : "read error: $!";
            return undef;
        }
        ${*$sock}{weft_eof} = 1 if $n == 0;
        return $n;
    }
    return undef;
}

sub _error_response {
    my ($sock, $why, $raw) = @_;
    return bless { status => undef, error => $why, raw => $raw, headers => {}, header_list => [],
        body => undef, closed => 1 }, 'WeftTest::Response';
}

# Reads exactly one response from $sock (leaving later bytes buffered).
# Options: method => 'HEAD' (no body), timeout => s.  The result is a
# WeftTest::Response: { status, reason, version, headers => {lc name => value
# (values of repeated fields joined with ", ")}, header_list => [[name,
# value], ...], body, raw, interim => [1xx responses], closed (end of stream
# seen), error (why no complete response could be read) }.
sub read_response {
    my ($sock, %o) = @_;
    my $deadline = time + ($o{timeout} // scale($TIMEOUT));
    my $buf = \${*$sock}{weft_buffer};
    $$buf //= '';
    my @interim;
    my $raw_all = '';
    my ($head, $status, $reason, $version, %headers, @list);
    for (my $round = 0; $round < 100; $round++) {
        my $end;
        for (my $i = 0; $i < 1_000_000; $i++) {
            $end = index($$buf, "\r\n\r\n");
            last if $end >= 0;
            if (length $$buf > 1_000_000) {
                return _error_response($sock, 'response head too long', $$buf);
            }
            my $n = _fill($sock, $deadline);
            if (!$n) {
                my $why = defined $n ? (length $$buf ? 'connection closed in the response head'
                    : 'connection closed before any response byte')
                    : (${*$sock}{weft_error} // 'error');
                my $r = _error_response($sock, $why, $raw_all . $$buf);
                $$buf = '';
                return $r;
            }
        }
        $head = substr($$buf, 0, $end + 4, '');
        $raw_all .= $head;
        my @lines = split /\r\n/, substr($head, 0, $end);
        my $first = shift @lines // '';
        unless ($first =~ m{^(HTTP/\d\.\d) (\d{3}) ?(.*)$}) {
            return _error_response($sock, "bad status line: $first", $raw_all);
        }
        ($version, $status, $reason) = ($1, $2 + 0, $3);
        %headers = ();
        @list = ();
        for my $line (@lines) {
            unless ($line =~ /^([^:\s]+):[ \t]*(.*?)[ \t]*$/) {
                return _error_response($sock, "bad header line: $line", $raw_all);
            }
            my ($name, $value) = (lc $1, $2);
            push @list, [$1, $value];
            $headers{$name} = exists $headers{$name} ? "$headers{$name}, $value" : $value;
        }
        if ($status >= 100 && $status < 200 && $status != 101) {
            push @interim, { status => $status, reason => $reason, head => $head };
            next;
        }
        last;
    }
    my $body = '';
    my $method = uc($o{method} // 'GET');
    my $no_body = $method eq 'HEAD' || $status == 204 || $status == 304 || ($status >= 100 && $status < 200);
    my $te = $headers{'transfer-encoding'};
    if ($no_body) {
        # nothing
    } elsif (defined $te && $te =~ /chunked\s*$/i) {
        my $raw_body = '';
        for (my $i = 0; ; $i++) {
            return _error_response($sock, 'too many chunks', $raw_all . $raw_body) if $i > 1_000_000;
            my $nl = index($$buf, "\r\n");
            if ($nl < 0) {
                my $n = _fill($sock, $deadline);
                return _error_response($sock, 'chunked body cut short: ' . (defined $n ? 'closed' : ${*$sock}{weft_error}), $raw_all . $raw_body . $$buf) unless $n;
                next;
            }
            my $line = substr($$buf, 0, $nl);
            unless ($line =~ /^([0-9A-Fa-f]+)(;.*)?$/) {
                return _error_response($sock, "bad chunk size line: $line", $raw_all . $raw_body);
            }
            my $size = hex $1;
            if ($size == 0) {
                # trailers up to an empty line
                my $tend;
                for (my $j = 0; $j < 1_000_000; $j++) {
                    if (substr($$buf, $nl, 4) eq "\r\n\r\n") { $tend = $nl + 4; last }
                    my $t = index($$buf, "\r\n\r\n", $nl);
                    if ($t >= 0) { $tend = $t + 4; last }
                    my $n = _fill($sock, $deadline);
                    return _error_response($sock, 'chunked trailer cut short', $raw_all . $raw_body . $$buf) unless $n;
                }
                $raw_body .= substr($$buf, 0, $tend, '');
                last;
            }
            while (length($$buf) < $nl + 2 + $size + 2) {
                my $n = _fill($sock, $deadline);
                return _error_response($sock, 'chunk cut short', $raw_all . $raw_body . $$buf) unless $n;
            }
            my $chunk = substr($$buf, 0, $nl + 2 + $size + 2, '');
            $raw_body .= $chunk;
            return _error_response($sock, 'chunk not followed by CRLF', $raw_all . $raw_body)
                unless substr($chunk, -2) eq "\r\n";
            $body .= substr($chunk, $nl + 2, $size);
        }
        $raw_all .= $raw_body;
    } elsif (defined $headers{'content-length'}) {
        my $cl = $headers{'content-length'};
        return _error_response($sock, "bad Content-Length: $cl", $raw_all) unless $cl =~ /^\d+$/;
        while (length($$buf) < $cl) {
            my $n = _fill($sock, $deadline);
            unless ($n) {
                my $why = defined $n ? 'closed' : ${*$sock}{weft_error};
                return _error_response($sock, "body cut short ($why) after " . length($$buf) . " of $cl bytes", $raw_all . $$buf);
            }
        }
        $body = substr($$buf, 0, $cl, '');
        $raw_all .= $body;
    } else {
        # close-delimited
        for (my $i = 0; $i < 1_000_000; $i++) {
            my $n = _fill($sock, $deadline);
            last if defined $n && $n == 0;
            unless (defined $n) {
                return _error_response($sock, 'close-delimited body: ' . ${*$sock}{weft_error}, $raw_all . $$buf);
            }
        }
        $body = $$buf;
        $$buf = '';
        $raw_all .= $body;
    }
    return bless {
        status => $status, reason => $reason, version => $version,
        headers => \%headers, header_list => \@list, body => $body, raw => $raw_all,
        interim => \@interim, closed => ${*$sock}{weft_eof} ? 1 : 0, error => undef,
    }, 'WeftTest::Response';
}

# After a response: waits up to $timeout for the peer to close.  Returns
# ('closed', seconds) on end of stream or reset, ('data', seconds, bytes) if
# more bytes came, ('open', seconds) if still open at the deadline.
sub wait_closed {
    my ($sock, $timeout) = @_;
    $timeout //= scale(5);
    my $t0 = time;
    my $buf = \${*$sock}{weft_buffer};
    return ('data', 0, $$buf) if defined $$buf && length $$buf;
    return ('closed', 0) if ${*$sock}{weft_eof};
    my $deadline = $t0 + $timeout;
    my $n = _fill($sock, $deadline);
    my $elapsed = time - $t0;
    if (defined $n) {
        return ('closed', $elapsed) if $n == 0;
        return ('data', $elapsed, $$buf);
    }
    return ('open', $elapsed) if (${*$sock}{weft_error} // '') eq 'timeout';
    return ('closed', $elapsed);
}

sub _method_of {
    my ($raw) = @_;
    return $raw =~ /^(?:\r\n)*([A-Za-z]+) / ? uc $1 : 'GET';
}

# Sends raw bytes on a fresh connection and reads one response.  Options:
# method (default: the first word of $raw), timeout, keep => 1 (returns
# ($response, $socket)).
sub request {
    my ($self, $raw, %o) = @_;
    my $sock = $self->connect(%o)
        or return _error_response(undef, "connect failed: $!", '');
    send_raw($sock, $raw, $o{timeout});
    my $r = read_response($sock, method => $o{method} // _method_of($raw), timeout => $o{timeout});
    return wantarray && $o{keep} ? ($r, $sock) : $r;
}

# Sends raw bytes (e.g. several pipelined requests) on a fresh connection and
# reads $count responses; methods => [...] gives each one's method.
# Returns (\@responses, $socket).
sub pipeline {
    my ($self, $raw, $count, %o) = @_;
    my $sock = $self->connect(%o) or return ([], undef);
    send_raw($sock, $raw, $o{timeout});
    my @methods = @{ $o{methods} || [] };
    my @responses;
    for my $i (0 .. $count - 1) {
        my $r = read_response($sock, method => $methods[$i] // 'GET', timeout => $o{timeout});
        push @responses, $r;
        last unless defined $r->{status};
    }
    return (\@responses, $sock);
}

# GET $path with Host and Connection: close (and any extra header fields).
sub get {
    my ($self, $path, %headers) = @_;
    return $self->request($self->build_request('GET', $path, %headers));
}

sub head {
    my ($self, $path, %headers) = @_;
    return $self->request($self->build_request('HEAD', $path, %headers));
}

sub build_request {
    my ($self, $method, $path, %headers) = @_;
    my $raw = "$method $path HTTP/1.1\r\n";
    $headers{Host} //= $self->host_header;
    $headers{Connection} //= 'close';
    for my $name (sort { $a eq 'Host' ? -1 : $b eq 'Host' ? 1 : $a cmp $b } keys %headers) {
        next unless defined $headers{$name};
        $raw .= "$name: $headers{$name}\r\n";
    }
    return "$raw\r\n";
}

# GET /server-status?auto parsed: { key => value, _name => first bare line,
# _order => [keys in order], _lines => [...] }; undef unless 200.
sub status_auto {
    my ($self, $path) = @_;
    $path //= '/server-status';
    my $r = $self->get("$path?auto");
    return undef unless defined $r->{status} && $r->{status} == 200;
    my %s = (_order => [], _lines => [], _response => $r);
    for my $line (split /\r?\n/, $r->{body}) {
        push @{ $s{_lines} }, $line;
        if ($line =~ /^([^:]+):\s?(.*)$/) {
            $s{$1} = $2;
            push @{ $s{_order} }, $1;
        } elsif (!defined $s{_name} && !@{ $s{_order} }) {
            $s{_name} = $line;
        }
    }
    return \%s;
}

# Opens $n connections that each request $path (a large file) and then read
# nothing: with a small receive buffer on our side, each keeps one server
# thread busy sending until we close it.  Returns the sockets.
sub stall_clients {
    my ($self, $n, $path) = @_;
    my @socks;
    for my $i (1 .. $n) {
        my $s = $self->connect(rcvbuf => 4096) or next;
        send_raw($s, "GET $path HTTP/1.1\r\nHost: " . $self->host_header . "\r\nConnection: close\r\n\r\n");
        push @socks, $s;
    }
    return \@socks;
}

# How many of these sockets have response bytes waiting (without reading them).
sub count_answered {
    my ($self, $socks) = @_;
    return scalar grep { IO::Select->new($_)->can_read(0) } @$socks;
}

sub close_all {
    my ($self, $socks) = @_;
    for my $s (@$socks) {
        # An abortive close (RST), so that the server's blocked send ends at once.
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
        close $s;
    }
    @$socks = ();
}

# ----------------------------------------------------------------------
# Load: forked clients doing GETs for a bounded time.
#
#   my $load = $w->start_load(clients => 4, duration => 3, path => '/x',
#                             expect => $body, per_connection => 0);
#   ... (restart, kill, ...) ...
#   my $res = $load->finish;   # { requests, failures, errors => [...], clients }
#
# A failed request is a connect error, a reset or close before a complete
# response, a timeout, a status other than 200, or a body different from
# `expect`.  per_connection N: close after N requests (Connection: close on
# the Nth); 0: keep the connection as long as the server does.

sub start_load {
    my ($self, %o) = @_;
    my $clients = $o{clients} // 4;
    my $duration = $o{duration} // 2;
    my $path = $o{path} // '/';
    my $per_conn = $o{per_connection} // 0;
    my $expect = $o{expect};
    my $pause = $o{pause} // 0;
    my $port = $self->port;
    my $host = $self->host_header;
    my @kids;
    for my $c (1 .. $clients) {
        pipe(my $rd, my $wr) or croak "pipe: $!";
        my $pid = fork;
        croak "fork: $!" unless defined $pid;
        if ($pid == 0) {
            close $rd;
            my $res = _load_client($port, $host, $path, $duration, $per_conn, $expect, $pause, $c);
            print {$wr} $res;
            close $wr;
            _exit(0);
        }
        close $wr;
        push @kids, { pid => $pid, fh => $rd };
    }
    return bless { kids => \@kids, duration => $duration, started => time }, 'WeftTest::Load';
}

sub _load_client {
    my ($port, $host, $path, $duration, $per_conn, $expect, $pause, $id) = @_;
    my $end = time + $duration;
    my ($ok, $fail, $conns) = (0, 0, 0);
    my @errors;
    my $sock;
    my $on_conn = 0;
    my $note = sub { push @errors, "client $id: $_[0]" if @errors < 10; $fail++ };
    for (my $i = 0; $i < 10_000_000 && time < $end; $i++) {
        unless ($sock) {
            $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
                Timeout => scale(10));
            unless ($sock) {
                $note->("connect: $!");
                sleep 0.01;
                next;
            }
            binmode $sock;
            ${*$sock}{weft_buffer} = '';
            $on_conn = 0;
            $conns++;
        }
        $on_conn++;
        my $last = $per_conn && $on_conn >= $per_conn;
        my $req = "GET $path HTTP/1.1\r\nHost: $host\r\nUser-Agent: weft-load/$id\r\n"
            . ($last ? "Connection: close\r\n" : '') . "\r\n";
        unless (send_raw($sock, $req, scale(10))) {
            $note->("request $on_conn on connection $conns: write failed: $!");
            close $sock;
            undef $sock;
            next;
        }
        my $r = read_response($sock, timeout => scale(15));
        if (!defined $r->{status}) {
            $note->("request $on_conn on connection $conns: $r->{error}");
            close $sock;
            undef $sock;
            next;
        }
        if ($r->{status} != 200) {
            $note->("request $on_conn on connection $conns: status $r->{status}");
        } elsif (defined $expect && $r->{body} ne $expect) {
            $note->("request $on_conn on connection $conns: wrong body (" . length($r->{body}) . " bytes)");
        } else {
            $ok++;
        }
        my $conn_hdr = $r->{headers}{connection} // '';
        if ($last || $conn_hdr =~ /\bclose\b/i || $r->{closed} || $r->{version} eq 'HTTP/1.0' && $conn_hdr !~ /keep-alive/i) {
            close $sock;
            undef $sock;
        }
        sleep $pause if $pause;
    }
    close $sock if $sock;
    return join("\n", "ok $ok fail $fail conns $conns", @errors) . "\n";
}

package WeftTest::Load;

use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

sub finish {
    my ($self) = @_;
    my %res = (requests => 0, failures => 0, connections => 0, errors => [], clients => 0, lost => 0);
    my $deadline = $self->{started} + $self->{duration} + WeftTest::scale(30);
    for my $k (@{ $self->{kids} }) {
        my $data = '';
        my $sel = IO::Select->new($k->{fh});
        for (my $i = 0; $i < 100_000; $i++) {
            my $left = $deadline - time;
            last if $left <= 0;
            next unless $sel->can_read($left);
            my $n = sysread($k->{fh}, $data, 65536, length $data);
            last unless $n;
        }
        close $k->{fh};
        WeftTest::wait_for(sub { waitpid($k->{pid}, WNOHANG) != 0 }, 2)
            or do { kill 'KILL', $k->{pid}; waitpid($k->{pid}, 0) };
        if ($data =~ /^ok (\d+) fail (\d+) conns (\d+)\n(.*)$/s) {
            $res{requests} += $1;
            $res{failures} += $2;
            $res{connections} += $3;
            push @{ $res{errors} }, grep { length } split /\n/, $4;
            $res{clients}++;
        } else {
            $res{lost}++;
            push @{ $res{errors} }, "a load client reported nothing";
        }
    }
    return \%res;
}

sub DESTROY {
    my ($self) = @_;
    for my $k (@{ $self->{kids} || [] }) {
        next unless $k->{pid};
        if (waitpid($k->{pid}, WNOHANG) == 0) {
            kill 'KILL', $k->{pid};
            waitpid($k->{pid}, 0);
        }
    }
}

package WeftTest::Response;

sub status { $_[0]{status} }
sub body   { $_[0]{body} }
sub error  { $_[0]{error} }

# header('Content-Type') -> joined value; in list context, every value.
sub header {
    my ($self, $name) = @_;
    if (wantarray) {
        return map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $self->{header_list} };
    }
    return $self->{headers}{ lc $name };
}

sub header_count {
    my ($self, $name) = @_;
    return scalar grep { lc $_->[0] eq lc $name } @{ $self->{header_list} };
}

# A one-line summary for diagnostics.
sub summary {
    my ($self) = @_;
    return "no response: $self->{error}" . (length($self->{raw} // '') ? " (got: " . _show($self->{raw}) . ")" : '')
        unless defined $self->{status};
    return _show($self->{raw});
}

sub _show {
    my ($text) = @_;
    $text = substr($text, 0, 600) . '...' if length $text > 600;
    $text =~ s/\r/\\r/g;
    $text =~ s/([^\x20-\x7e\n])/sprintf('\\x%02x', ord $1)/ge;
    return $text;
}

1;
