#!/usr/bin/perl
# Binary upgrade (docs/fleet.md): `weft -k upgrade` takes the listening
# sockets over from the running control process (SCM_RIGHTS), starts its
# children, and only then has the old one stop: no connection is refused or
# fails under a bounded load loop.  A new configuration that fails its check,
# a new server that cannot start, or one killed as it starts (a preloaded
# fork() that kills it), leaves the old one serving.  Socket
# activation: sockets inherited with LISTEN_FDS/LISTEN_PID serve the Listen
# of their address instead of a bind.  Shared TLS state: two instances with
# the same SSLSessionTicketKeyFile resume each other's sessions, also after
# one of them was upgraded; rotation is a new file and a graceful restart.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::IP;
use POSIX qw(_exit dup2 WNOHANG);
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw read_response free_port);

my $CONF = <<'EOF';
StartServers 2
ThreadsPerChild 4
MinSpareThreads 2
MaxSpareThreads 16
MaxClients 8
GracefulShutdownTimeout 20
EOF
my $w = WeftTest->new(conf => $CONF, files => { 'www/index.html' => "hi\n" });
$w->start(foreground => 0);
my $old = $w->pid;
ok($old, "a detached server runs (pid $old)");

sub report {
    my ($res) = @_;
    diag(join "\n", "$res->{failures} failed of " . ($res->{requests} + $res->{failures}), @{ $res->{errors} })
        if $res->{failures} || $res->{lost};
}

sub pid_in_file { my $t = WeftTest::_slurp($w->pid_file) // ''; return $t =~ /^(\d+)/ ? $1 : 0 }

# ---------------------------------------------------------------- upgrade under load
{
    my $fresh = $w->start_load(clients => 3, duration => scale(5), path => '/index.html', per_connection => 1,
        expect => "hi\n");
    my $kept = $w->start_load(clients => 2, duration => scale(5), path => '/index.html', expect => "hi\n");
    sleep scale(1);
    my ($code, $out, $err) = $w->ctl('upgrade');
    is($code, 0, '-k upgrade returns 0 once the new server serves') or diag("$out$err");
    my $new = pid_in_file();
    isnt($new, $old, "the PidFile names the new control process ($new)");
    ok($new && !WeftTest::_pid_gone($new), '... which runs');
    ok(wait_for(sub { WeftTest::_pid_gone($old) }, scale(15)), 'the old control process exits');
    my $r1 = $fresh->finish;
    my $r2 = $kept->finish;
    cmp_ok($r1->{requests}, '>', 20, "the connection-per-request load ran ($r1->{requests} requests)");
    is($r1->{failures}, 0, 'upgrade: no connection refused or failed (one request per connection)');
    report($r1);
    is($r2->{failures}, 0, "upgrade: no failure on kept-alive connections ($r2->{requests} requests)");
    report($r2);
    is(pid_in_file(), $new, 'the old server did not remove the new PidFile');
    like($w->error_log, qr/SIGUSR2 received: listening sockets handed to the new weft \(pid \d+\)/,
        'the old server logged the handover');
    like($w->error_log, qr/\[pid $new:[^\]]*\] took over the listening sockets/, 'the new one logged the takeover');
    $w->adopt_pid_file;
    is($w->get('/index.html')->{status}, 200, 'the new server serves');
}

# ---------------------------------------------------------------- a stray SIGUSR2
{
    my $serving = $w->pid;
    ok(kill('USR2', $serving), 'SIGUSR2 sent by a process that waits for no sockets');
    ok($w->wait_error_log(qr/SIGUSR2 from pid $$, but it waits for no sockets/), 'it is logged');
    ok(!WeftTest::_pid_gone($serving), 'the server keeps running');
    is($w->get('/index.html')->{status}, 200, '... and serving');
}

# ---------------------------------------------------------------- broken configuration
{
    my $serving = $w->pid;
    $w->write_conf($CONF . "NoSuchDirective here\n");
    my ($code, $out, $err) = $w->ctl('upgrade');
    isnt($code, 0, '-k upgrade with a broken configuration fails');
    like("$out$err", qr/NoSuchDirective/, '... naming the error');
    ok(!WeftTest::_pid_gone($serving), 'the running server is untouched');
    is(pid_in_file(), $serving, '... and so is its PidFile');
    is($w->get('/index.html')->{status}, 200, '... and it serves');
}

# ---------------------------------------------------------------- a new server that cannot start
{
    my $serving = $w->pid;
    my $blocker = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 5, ReuseAddr => 0)
        or BAIL_OUT("cannot bind a blocker socket: $!");
    my $busy = $blocker->sockport;
    $w->write_conf($CONF . "Listen 127.0.0.1:\@PORT\@\nListen 127.0.0.1:$busy\n");
    my $load = $w->start_load(clients => 2, duration => scale(3), path => '/index.html', per_connection => 1);
    my ($code, $out, $err) = $w->ctl('upgrade');
    isnt($code, 0, '-k upgrade fails when the new server cannot bind its sockets');
    like("$out$err", qr/could not bind to address 127\.0\.0\.1:$busy/, '... and says why') or diag("$out$err");
    ok($w->wait_error_log(qr/the new weft exited before taking over; still serving/),
        'the old server logs that it keeps serving');
    my $res = $load->finish;
    is($res->{failures}, 0, "no request failed meanwhile ($res->{requests} requests)");
    report($res);
    ok(!WeftTest::_pid_gone($serving), 'the old server still runs');
    is(pid_in_file(), $serving, '... its PidFile unchanged');
    is($w->get('/index.html')->{status}, 200, '... and it serves');
    $w->write_conf($CONF);
}

# ---------------------------------------------------------------- a new server that crashes at start
{
    # A preloaded fork() that kills the new control process (SIGKILL, no
    # core) when it forks its first child: forks 1 and 2 detach it.
    my $dir = $w->root;
    open my $src, '>', "$dir/crash_shim.c" or BAIL_OUT("crash_shim.c: $!");
    print {$src} <<'CODE';
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>
static int forks;
pid_t fork(void)
{
    static pid_t (*real)(void);
    if (!real)
        real = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork");
    if (++forks == 3)
        kill(getpid(), SIGKILL);
    return real();
}
CODE
    close $src;
    my $built = `cc -O2 -D_GNU_SOURCE -fPIC -shared -o '$dir/crash_shim.so' '$dir/crash_shim.c' -ldl 2>&1`;
    BAIL_OUT("cannot build the crash shim (a C compiler is needed): $built") if $?;
    my $serving = $w->pid;
    my $gave_up = () = $w->error_log =~ /the new weft exited before taking over; still serving/g;
    my $load = $w->start_load(clients => 2, duration => scale(3), path => '/index.html', per_connection => 1);
    my $asan = join ':', grep { length } ($ENV{ASAN_OPTIONS} // ''), 'verify_asan_link_order=0';
    my ($code, $out, $err) = $w->run_weft({ env => { LD_PRELOAD => "$dir/crash_shim.so", ASAN_OPTIONS => $asan } },
        $w->weft_args, '-k', 'upgrade');
    isnt($code, 0, '-k upgrade fails when the new server is killed as it starts its first child')
        or diag("$out$err");
    ok(wait_for(sub { (() = $w->error_log =~ /the new weft exited before taking over; still serving/g) > $gave_up },
        scale(10)), 'the old server logs that it keeps serving');
    my $res = $load->finish;
    is($res->{failures}, 0, "no request failed meanwhile ($res->{requests} requests)");
    report($res);
    ok(!WeftTest::_pid_gone($serving), 'the old server still runs');
    is(pid_in_file(), $serving, '... its PidFile unchanged');
    is($w->get('/index.html')->{status}, 200, '... and it serves');
}

# ---------------------------------------------------------------- upgrade of a server that is not running
{
    $w->stop;
    my ($code, $out) = $w->ctl('upgrade');
    is($code, 0, '-k upgrade with nothing running starts the server');
    like($out, qr/not running, trying to start/, '... and says so');
    ok($w->adopt_pid_file, '... which writes its PidFile');
    is($w->get('/index.html')->{status}, 200, '... and serves');
    $w->stop;
}

# ---------------------------------------------------------------- LISTEN_FDS (systemd socket activation)
{
    my $s = WeftTest->new(conf => "Listen 127.0.0.1:\@PORT\@\n", files => { 'www/index.html' => "activated\n" });
    my $listener = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => $s->port, Listen => 16,
        ReuseAddr => 1) or BAIL_OUT("cannot bind: $!");
    my $spare = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 4)
        or BAIL_OUT("cannot bind: $!");
    my $spare_port = $spare->sockport;
    # A client that connects before the server exists waits in the backlog.
    my $early = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $s->port) or BAIL_OUT("connect: $!");
    send_raw($early, "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    my $bin = WeftTest::binary();
    my $pid = fork;
    BAIL_OUT("fork: $!") unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $s->{output} or _exit(127);
        open STDERR, '>&', \*STDOUT or _exit(127);
        # Through high numbers first, so that neither overwrites the other;
        # dup2 leaves the new descriptors without close-on-exec.
        dup2(fileno($listener), 20) // _exit(127);
        dup2(fileno($spare), 21) // _exit(127);
        dup2(20, 3) // _exit(127);
        dup2(21, 4) // _exit(127);
        POSIX::close($_) for 20, 21;
        $ENV{LISTEN_PID} = $$;
        $ENV{LISTEN_FDS} = 2;
        $ENV{LISTEN_FDNAMES} = 'http:spare';
        { no warnings 'exec'; exec { $bin } $bin, $s->weft_args, '-D', 'FOREGROUND'; }
        _exit(127);
    }
    $s->{pid} = $pid;
    $s->{spawned} = $pid;
    # Our own copy of the socket stays open: a bind of the same address by
    # the server would fail (no SO_REUSEPORT), so serving proves it adopted it.
    my $r = read_response($early, timeout => scale(10));
    is($r->{status}, 200, 'LISTEN_FDS: a connection queued before the server started is answered');
    is($r->{body}, "activated\n", '... by weft');
    is($s->get('/index.html')->{status}, 200, 'LISTEN_FDS: the inherited socket serves new connections');
    ok($s->running, 'the server runs (it did not try to bind the address itself)');
    like($s->output . $s->error_log, qr/inherited listening socket \(127\.0\.0\.1:$spare_port\) matches no Listen: closed/,
        'an inherited socket no Listen names is closed, with a warning');
    $s->stop;
    close $listener;
    close $spare;
}

# ---------------------------------------------------------------- a fleet's ticket key file
{
    my $key_a = join '', map { chr(int(rand(256))) } 1 .. 48;
    my $key_b = join '', map { chr(int(rand(256))) } 1 .. 48;
    my $first = WeftTest->new(conf => '', files => { 'www/index.html' => "hello\n" });
    my $dir = $first->root;
    my $made = `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost -keyout '$dir/key.pem' -out '$dir/cert.pem' 2>&1`;
    BAIL_OUT("openssl req failed: $made") if $?;
    chmod 0644, "$dir/cert.pem", "$dir/key.pem";
    my $write_key = sub {
        my ($name, $bytes) = @_;
        open my $fh, '>:raw', "$dir/$name" or BAIL_OUT("$name: $!");
        print {$fh} $bytes;
        close $fh;
        chmod 0644, "$dir/$name";
    };
    $write_key->('fleet.key', $key_a);
    $write_key->('other.key', $key_b);
    my $conf_for = sub {
        my ($file) = @_;
        return "Listen 127.0.0.1:\@PORT\@ https\nSSLEngine on\nSSLCertificateFile $dir/cert.pem\n"
            . "SSLCertificateKeyFile $dir/key.pem\nSSLSessionCache none\nSSLSessionTicketKeyFile $dir/$file\n";
    };
    $first->write_conf($conf_for->('fleet.key'));
    my $second = WeftTest->new(conf => $conf_for->('fleet.key'), files => { 'www/index.html' => "hello\n" });
    my $other = WeftTest->new(conf => $conf_for->('other.key'), files => { 'www/index.html' => "hello\n" });
    $first->start;
    $second->start(foreground => 0);
    $other->start;

    open my $req, '>', "$dir/request" or BAIL_OUT("$dir/request: $!");
    print {$req} "GET /index.html HTTP/1.0\r\n\r\n";
    close $req;
    # One connection with a request: 1 resumed, 0 a full handshake, undef failed.
    my $s_client = sub {
        my ($w, @args) = @_;
        my $pid = open(my $from, '-|') // die "fork: $!";
        if (!$pid) {
            open STDIN, '<', "$dir/request" or _exit(127);
            open STDERR, '>&', \*STDOUT or _exit(127);
            my @command = ('timeout', scale(10), 'openssl', 's_client', '-connect', '127.0.0.1:' . $w->port,
                '-servername', 'localhost', '-ign_eof', @args);
            { no warnings 'exec'; exec { $command[0] } @command; }
            _exit(127);
        }
        local $/;
        my $text = <$from> // '';
        close $from;
        return undef unless $text =~ m{^HTTP/1\.1 200 }m;
        return $text =~ /^Reused, /m ? 1 : $text =~ /^New, /m ? 0 : undef;
    };
    my $session = "$dir/session";

    for my $version ('-tls1_2', '-tls1_3') {
        is($s_client->($first, $version, '-sess_out', $session), 0, "$version: a new session on instance A");
        is($s_client->($second, $version, '-sess_in', $session), 1,
            "$version: it resumes on instance B (same SSLSessionTicketKeyFile)");
        is($s_client->($other, $version, '-sess_in', $session), 0,
            "$version: not on an instance with another key file (a full handshake)");
    }

    my $before = $second->pid;
    is($s_client->($first, '-tls1_3', '-sess_out', $session), 0, 'a new session on A before B is upgraded');
    my ($code, $o, $e) = $second->ctl('upgrade');
    is($code, 0, 'instance B: -k upgrade') or diag("$o$e");
    ok(wait_for(sub { WeftTest::_pid_gone($before) }, scale(15)), '... the old B is gone');
    $second->adopt_pid_file;
    is($s_client->($second, '-tls1_3', '-sess_in', $session), 1, 'the session from A resumes on the upgraded B');

    # Rotation: a new file, then a graceful restart of every instance.
    is($s_client->($first, '-tls1_3', '-sess_out', "$session.old"), 0, 'a session under the first key');
    $write_key->('fleet.key', $key_b);
    for my $w ($first, $second) {
        my $n = () = $w->error_log =~ /Doing graceful restart/g;
        $w->ctl('graceful');
        ok(wait_for(sub { (() = $w->error_log =~ /Doing graceful restart/g) > $n }, scale(10)),
            'rotation: graceful restart after the key file was replaced');
    }
    sleep scale(1);
    is($s_client->($first, '-tls1_3', '-sess_out', $session), 0, 'a new session on A under the new key');
    is($s_client->($other, '-tls1_3', '-sess_in', $session), 1, '... resumes on the instance that had that key');
    is($s_client->($second, '-tls1_3', '-sess_in', $session), 1, '... and on B, rotated too');
    is($s_client->($second, '-tls1_3', '-sess_in', "$session.old"), 1,
        'a ticket under the previous key still resumes on B for one more period');
    $_->stop for $first, $second, $other;
}

$w->stop;
done_testing;
