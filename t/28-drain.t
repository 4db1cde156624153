#!/usr/bin/perl
# Draining (docs/fleet.md): the health-check handler answers 200, and 503
# while the server drains — while a DrainFile exists, and during the
# DrainDelay of -k graceful-stop, when the listening sockets still accept;
# every response on a kept-alive connection then carries Connection: close,
# and requests in flight finish.  A TERM during the drain stops at once.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Select;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw read_response wait_closed);

my $BIG = join '', map { sprintf "%07d\n", $_ } 0 .. 262_143;    # 2 MB
my $w = WeftTest->new(
    conf => <<'EOF',
DrainFile "@ROOT@/drain"
DrainDelay 3
GracefulShutdownTimeout 20
KeepAliveTimeout 15
<Location /healthz>
    SetHandler health-check
</Location>
EOF
    files => { 'www/index.html' => "hello\n", 'www/big.txt' => $BIG },
);
$w->start;

sub health { my $r = $w->get('/healthz'); return $r->{status} // 0 }

sub keep_alive_get {
    my ($sock, $path) = @_;
    send_raw($sock, "GET $path HTTP/1.1\r\nHost: x\r\n\r\n");
    return read_response($sock, timeout => scale(5));
}

# ---------------------------------------------------------------- normal state
{
    my $r = $w->get('/healthz');
    is($r->{status}, 200, 'health check: 200 while serving normally');
    is($r->{body}, "OK\n", '... with "OK"');
    is($r->{headers}{'cache-control'}, 'no-store', '... never cached');
    my $p = $w->request("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    is($p->{status}, 405, 'health check: POST is refused (405)');
    my $sock = $w->connect;
    my $k = keep_alive_get($sock, '/index.html');
    is($k->{status}, 200, 'a kept-alive request');
    unlike($k->{headers}{connection} // '', qr/close/i, '... is not told to close while serving normally');
}

# ---------------------------------------------------------------- DrainFile
{
    my $sock = $w->connect;
    my $k = keep_alive_get($sock, '/index.html');
    is($k->{status}, 200, 'a keep-alive connection opened before draining');
    $w->write_file('drain', '');
    ok(wait_for(sub { health() == 503 }, scale(5)), 'DrainFile created: the health check answers 503');
    my $r = $w->get('/healthz');
    is($r->{body}, "draining\n", '... saying "draining"');
    ok($w->wait_error_log(qr/DrainFile .* appeared: draining/), 'the error log says the server drains');
    my $d = keep_alive_get($sock, '/index.html');
    is($d->{status}, 200, 'a request on the kept-alive connection is still served while draining');
    like($d->{headers}{connection} // '', qr/close/i, '... with Connection: close');
    my ($state) = wait_closed($sock, scale(5));
    is($state, 'closed', '... and the connection is closed after it');
    is($w->get('/index.html')->{status}, 200, 'new connections are still served while draining');
    my $fresh = $w->connect;
    my $f = keep_alive_get($fresh, '/index.html');
    like($f->{headers}{connection} // '', qr/close/i, 'a new kept-alive request gets Connection: close too');

    unlink $w->path('drain');
    ok(wait_for(sub { health() == 200 }, scale(5)), 'DrainFile removed: the health check answers 200 again');
    my $again = $w->connect;
    my $a = keep_alive_get($again, '/index.html');
    unlike($a->{headers}{connection} // '', qr/close/i, 'kept-alive responses no longer carry Connection: close');
    ok($w->wait_error_log(qr/DrainFile .* is gone: serving normally/), 'the error log says so');
}

# ---------------------------------------------------------------- graceful-stop with DrainDelay
{
    my $kept = $w->connect;
    is(keep_alive_get($kept, '/index.html')->{status}, 200, 'a keep-alive connection before the graceful stop');
    my $slow = $w->connect(rcvbuf => 4096);
    send_raw($slow, "GET /big.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ok(wait_for(sub { IO::Select->new($slow)->can_read(0) }, scale(5)), 'a slow download has started');

    my $t0 = time;
    my ($code, $out, $err) = $w->ctl('graceful-stop');
    is($code, 0, '-k graceful-stop') or diag($err);
    ok(wait_for(sub { health() == 503 }, scale(2)), 'during DrainDelay the health check answers 503');
    my $during = time - $t0;
    cmp_ok($during, '<', 3, 'and the listener still accepted the health check');
    is($w->get('/index.html')->{status}, 200, 'a new request is still served during DrainDelay');
    my $d = keep_alive_get($kept, '/index.html');
    is($d->{status}, 200, 'the kept-alive connection is served during DrainDelay');
    like($d->{headers}{connection} // '', qr/close/i, '... with Connection: close');
    ok($w->wait_error_log(qr/draining for 3 s before closing the listening sockets/), 'the error log announces the drain');

    my $r = read_response($slow, timeout => scale(30));
    is(length($r->{body} // ''), length $BIG, 'the download in flight completes') or diag($r->{error} // 'short');
    ok(defined $r->{body} && $r->{body} eq $BIG, '... every byte right');
    ok(wait_for(sub { !$w->running }, scale(20)), 'the server stops after the drain');
    cmp_ok(time - $t0, '>=', 2.5, '... not before DrainDelay has passed');
    ok(!WeftTest::_listening($w->port), 'nothing listens afterwards');
    ok(!-e $w->pid_file, 'the PidFile is removed');
}

# ---------------------------------------------------------------- TERM during DrainDelay
{
    $w->write_conf($w->conf_text =~ s/^DrainDelay 3$/DrainDelay 30/mr);
    $w->start;
    my $t0 = time;
    $w->signal('WINCH');
    ok(wait_for(sub { health() == 503 }, scale(5)), 'a second graceful-stop (DrainDelay 30) drains');
    $w->signal('TERM');
    ok(wait_for(sub { !$w->running }, scale(10)), 'SIGTERM during the drain stops the server');
    cmp_ok(time - $t0, '<', 15, '... without waiting for DrainDelay');
    like($w->error_log, qr/caught SIGTERM, shutting down/, '... as a stop');
}

$w->stop;
done_testing;
