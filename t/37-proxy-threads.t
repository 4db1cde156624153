#!/usr/bin/perl
# No thread waits on a backend (http/backend.h): with ThreadsPerChild 4,
# 50 requests held at once by a slow FastCGI backend all complete, a static
# request is answered while they are held, and the child keeps its threads.
# The backend (t/lib/WeftFcgi.pm) is one process with a select loop that
# counts the connections it holds at once.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(WNOHANG);
use WeftTest qw(wait_for);
use WeftFcgi;

my $held = 50;
my $w = WeftTest->new(
    conf => <<'CONF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
ProxyTimeout 30
ProxyPass /fcgi/ unix:@ROOT@/fcgi.sock|fcgi://localhost/app/
CONF
    files => { 'www/static.txt' => "static answer\n" },
);
my $root = $w->root;
my $backend = WeftFcgi::start(socket => "$root/fcgi.sock");
END { local $?; if ($backend) { kill 'KILL', $backend; waitpid($backend, 0) } }
$w->start;

is($w->get('/fcgi/plain')->body, "hello from fcgi\n", 'the backend answers through the proxy');
my ($child) = $w->child_pids;
ok($child, 'one child');
my $threads_before = $w->threads_of($child);

# 50 requests the backend holds for 4 s.
my @socks;
for my $i (1 .. $held) {
    my $sock = $w->connect or last;
    print $sock "GET /fcgi/slow-40 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    push @socks, $sock;
}
is(scalar @socks, $held, "$held requests sent");

# While the backend holds all of them: the four threads are free.
my $count;
ok(wait_for(sub {
    my $r = $w->get('/fcgi/count');
    ($count) = ($r->body // '') =~ /max=(\d+)/;
    return defined $count && $count >= $held + 1;
}, 10), "the backend holds all $held at once (most open: " . ($count // '?') . ')');
my $static = $w->get('/static.txt');
is($static->body, "static answer\n", 'a static request is answered while they are held');
is($w->threads_of($child), $threads_before, "the child still has its $threads_before threads");

my $complete = 0;
for my $sock (@socks) {
    my $r = WeftTest::read_response($sock, method => 'GET', timeout => 20);
    $complete++ if ($r->{status} // 0) == 200 && ($r->{body} // '') eq "slow done\n";
    close $sock;
}
is($complete, $held, "all $held held requests complete");
is(($w->child_pids)[0], $child, 'served by the same child');

$w->stop;
done_testing;
