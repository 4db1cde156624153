#!/usr/bin/perl
# 200 CGI requests from 20 concurrent clients (10 each, on keep-alive
# connections, GETs and small POSTs) all complete, and leave no zombie,
# no script and no descriptor behind.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(_exit);
use WeftTest qw(wait_for scale send_raw read_response);
use WeftCgi;

my $CLIENTS = 20;
my $REQUESTS = 10;

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
ThreadsPerChild 24
MinSpareThreads 1
MaxSpareThreads 24
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
EOF
    files => { WeftCgi::scripts('cgi-bin') },
);
$w->start;
my $baseline = WeftCgi::baseline($w);
my $host = $w->host_header;

# Each client: REQUESTS requests on one keep-alive connection (reconnecting
# if the server closes it); exits with the number that went wrong.
sub client {
    my ($index) = @_;
    my $failures = 0;
    my $sock;
    for my $i (1 .. $REQUESTS) {
        $sock //= $w->connect or do { $failures++; next };
        my $last = $i == $REQUESTS ? "Connection: close\r\n" : '';
        my ($raw, $expect);
        if ($i % 2) {
            $raw = "GET /cgi-bin/length.cgi HTTP/1.1\r\nHost: $host\r\n$last\r\n";
            $expect = "hello\n";
        } else {
            $expect = "client $index request $i\n";
            $raw = "POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: $host\r\nContent-Length: " . length($expect) . "\r\n$last\r\n$expect";
        }
        send_raw($sock, $raw, scale(20));
        my $r = read_response($sock, timeout => scale(20));
        $failures++ unless ($r->{status} // 0) == 200 && ($r->{body} // '') eq $expect;
        if (!defined $r->{status} || $r->{closed} || ($r->{headers}{connection} // '') =~ /close/i) {
            close $sock;
            undef $sock;
        }
    }
    return $failures;
}

my %pids;
for my $index (1 .. $CLIENTS) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $failures = eval { client($index) } // $REQUESTS;
        _exit($failures > 250 ? 250 : $failures);
    }
    $pids{$pid} = $index;
}
my $failures = 0;
my $finished = 0;
wait_for(sub {
    for my $pid (keys %pids) {
        my $done = waitpid($pid, POSIX::WNOHANG());
        next unless $done == $pid;
        $failures += $? >> 8;
        $finished++;
        delete $pids{$pid};
    }
    return !%pids;
}, scale(60), 0.05);
kill 'KILL', keys %pids;
waitpid($_, 0) for keys %pids;
is($finished, $CLIENTS, "all $CLIENTS clients finished");
is($failures, 0, 'every one of the ' . $CLIENTS * $REQUESTS . ' CGI requests got its answer');

my @lines = $w->wait_access_log_lines($CLIENTS * $REQUESTS);
is(scalar(grep { m{" 200 \d+$} } @lines), $CLIENTS * $REQUESTS, 'the access log has them all, 200');

WeftCgi::check_clean($w, $baseline, 'after the load');
$w->stop;
done_testing;
