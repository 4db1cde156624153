#!/usr/bin/perl
# systemd's notification protocol, with the test standing in for systemd: a
# Unix datagram socket in $NOTIFY_SOCKET (a path, then an abstract "@name").
# READY=1 arrives once the children serve, STATUS= lines carry the
# scoreboard summary, RELOADING=1 then READY=1 frame a graceful restart,
# STOPPING=1 comes last; a detached server adds MAINPID=; children do not
# inherit NOTIFY_SOCKET.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale);

my $CONF = <<'EOF';
StartServers 2
ThreadsPerChild 3
MinSpareThreads 1
MaxSpareThreads 12
MaxClients 4
EOF

sub listener {
    my ($address) = @_;
    my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $address)
        or die "cannot bind the notify socket: $!";
    return $sock;
}

# Datagrams received within $timeout, until $until matches one.
sub receive {
    my ($sock, $timeout, $until) = @_;
    my @messages;
    my $deadline = time + $timeout;
    my $select = IO::Select->new($sock);
    for (my $i = 0; $i < 10_000; $i++) {
        my $left = $deadline - time;
        last if $left <= 0;
        next unless $select->can_read($left);
        my $data;
        last unless defined $sock->recv($data, 65536);
        push @messages, $data;
        last if $until && $data =~ $until;
    }
    return @messages;
}

sub kinds {
    return map { /^(READY|RELOADING|STOPPING)=1/m ? $1 : /^STATUS=/ ? 'STATUS' : "OTHER($_)" } @_;
}

# ---------------------------------------------------------------- a path socket, foreground
my $w = WeftTest->new(conf => $CONF . <<'EOF', files => { 'www/index.html' => "index\n" });
CustomLog logs/access_log common
CustomLog "|$env > @ROOT@/logs/logger.env; exec cat > /dev/null" common
EOF
my $path = $w->path('notify.sock');
my $sock = listener($path);
{
    local $ENV{NOTIFY_SOCKET} = $path;
    $w->start;
}
my @startup = receive($sock, scale(10), qr/READY=1/);
my ($ready) = grep { /READY=1/ } @startup;
ok($ready, 'READY=1 arrives after startup') or diag(explain(\@startup));
is_deeply([ kinds(@startup) ], ['READY'], 'nothing before READY=1');
like($ready // '', qr/^STATUS=Idle\/busy workers \d+\/\d+; \d+ requests$/m, 'READY=1 carries a STATUS= summary');
my ($idle) = ($ready // '') =~ /workers (\d+)\//;
cmp_ok($idle // 0, '>=', 3, 'when READY=1 is sent, a child has all its threads up (3 idle at least)');
unlike($ready // '', qr/MAINPID=/, 'a foreground server sends no MAINPID (it is the main process)');
my $r = $w->get('/');
is($r->{status}, 200, 'the server answers as soon as READY=1 is in');

# What weft starts (log programs here, CGI programs alike) gets its
# environment: NOTIFY_SOCKET must be gone from it.
my $environ = '';
wait_for(sub { $environ = $w->read_file('logs/logger.env') // ''; $environ =~ /PATH=/ }, scale(5));
like($environ, qr/^PATH=/m, 'the log program started and wrote its environment');
unlike($environ, qr/^NOTIFY_SOCKET=/m, 'programs weft starts do not inherit NOTIFY_SOCKET');

$w->get('/') for 1 .. 4;
my @status = receive($sock, scale(4), qr/; [5-9]\d* requests|; \d\d+ requests/);
ok((grep { /^STATUS=Idle\/busy workers \d+\/\d+; (\d+) requests$/ && $1 >= 5 } @status),
    'a STATUS= line follows the requests served') or diag(explain(\@status));
is_deeply([ grep { $_ ne 'STATUS' } kinds(@status) ], [], 'only STATUS= lines while serving');

# At most one STATUS= a second: a burst of requests gives few lines.
my $t0 = time;
for my $i (1 .. 20) { $w->get('/'); sleep 0.05 }
my @burst = receive($sock, 0.5);
my $elapsed = time - $t0;
cmp_ok(scalar(@burst), '<=', int($elapsed) + 2, sprintf('STATUS= at most once a second (%d in %.1f s)', scalar @burst, $elapsed));

$w->signal('USR1');
my @reload = receive($sock, scale(10), qr/READY=1/);
my @reload_kinds = grep { $_ ne 'STATUS' } kinds(@reload);
is_deeply(\@reload_kinds, [qw(RELOADING READY)], 'a graceful restart: RELOADING=1, then READY=1')
    or diag(explain(\@reload));
my ($reloading) = grep { /RELOADING=1/ } @reload;
like($reloading // '', qr/^MONOTONIC_USEC=\d+$/m, 'RELOADING=1 comes with MONOTONIC_USEC=');
$w->stop;
my @end = receive($sock, scale(5), qr/STOPPING=1/);
is_deeply([ grep { $_ ne 'STATUS' } kinds(@end) ], ['STOPPING'], 'STOPPING=1 when it stops')
    or diag(explain(\@end));
close $sock;

# ---------------------------------------------------------------- abstract socket, detached
my $v = WeftTest->new(conf => $CONF, files => { 'www/index.html' => "index\n" });
my $name = "weft-test-notify-$$-" . int(rand(1e9));
my $abstract = listener("\0$name");
{
    local $ENV{NOTIFY_SOCKET} = "\@$name";
    $v->start(foreground => 0);
}
my @daemon = receive($abstract, scale(10), qr/READY=1/);
my ($daemon_ready) = grep { /READY=1/ } @daemon;
ok($daemon_ready, 'an abstract "@name" socket works') or diag(explain(\@daemon));
my $pid = $v->pid;
like($daemon_ready // '', qr/^MAINPID=$pid$/m, 'a detached server names its pid in MAINPID=');
$v->stop(name => 'detached server');
my @daemon_end = receive($abstract, scale(5), qr/STOPPING=1/);
ok((grep { /STOPPING=1/ } @daemon_end), 'STOPPING=1 from the detached server too');

# ---------------------------------------------------------------- no socket
my $x = WeftTest->new(conf => $CONF, files => { 'www/index.html' => "index\n" });
{
    local $ENV{NOTIFY_SOCKET} = "relative/not-a-socket";
    $x->start;
}
is($x->get('/')->{status}, 200, 'an unusable NOTIFY_SOCKET does not stop the server');
ok($x->wait_error_log(qr/NOTIFY_SOCKET is set but names no usable socket/, scale(5)),
    '... and is reported in the error log');
$x->stop(name => 'server with a bad NOTIFY_SOCKET');

done_testing;
