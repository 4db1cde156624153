#!/usr/bin/perl
# Process and thread counts match StartServers and ThreadsPerChild; the
# control process serves nothing itself; server-status (HTML and ?auto).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 2
ThreadsPerChild 5
MinSpareThreads 2
MaxSpareThreads 20
MaxClients 4
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    files => { 'www/index.html' => "index\n" },
);
$w->start;

my $two = wait_for(sub {
    my @kids = $w->child_pids;
    return @kids == 2 && !grep({ $w->threads_of($_) < 5 } @kids);
}, scale(10));
my @kids = $w->child_pids;
is(scalar @kids, 2, 'StartServers 2: two child processes') or diag("children: @kids");
for my $k (@kids) {
    cmp_ok($w->threads_of($k), '>=', 5, "ThreadsPerChild 5: child $k has at least 5 threads");
    cmp_ok($w->threads_of($k), '<=', 5 + 3, "child $k has no more than ThreadsPerChild plus a few helper threads");
}

my $r = $w->get('/');
is($r->{status}, 200, 'the children serve requests') or diag($r->summary);

# The number of children stays at 2 while nothing happens (no oscillation).
my %seen;
wait_for(sub { $seen{ scalar($w->child_pids) }++; 0 }, 1.0, 0.05);
is_deeply([sort keys %seen], [2], 'the number of children stays 2 at rest (sampled for 1 s)')
    or diag(join ', ', map { "$_ children: $seen{$_} samples" } sort keys %seen);

# ---------------------------------------------------------------- ?auto
my $s = $w->status_auto;
ok($s, 'GET /server-status?auto is 200') or BAIL_OUT('no server-status: cannot test the MPM');
like($s->{_response}{headers}{'content-type'} // '', qr{^text/plain\b}, '?auto is text/plain');
ok(defined $s->{_name} && $s->{_name} ne '', 'the first line of ?auto is the server name (a bare line)')
    or diag("first line: " . ($s->{_lines}[0] // ''));

my @all_keys = ('ServerVersion', 'ServerMPM', 'Server Built', 'CurrentTime', 'RestartTime',
    'ParentServerConfigGeneration', 'ParentServerMPMGeneration', 'ServerUptimeSeconds', 'ServerUptime',
    'Load1', 'Load5', 'Load15', 'Total Accesses', 'Total kBytes', 'Total Duration', 'CPUUser', 'CPUSystem',
    'CPUChildrenUser', 'CPUChildrenSystem', 'CPULoad', 'Uptime', 'ReqPerSec', 'BytesPerSec', 'BytesPerReq',
    'DurationPerReq', 'BusyWorkers', 'GracefulWorkers', 'IdleWorkers', 'Scoreboard');
my @required = ('ServerVersion', 'ServerMPM', 'Server Built', 'CurrentTime', 'RestartTime',
    'ParentServerConfigGeneration', 'ParentServerMPMGeneration', 'ServerUptimeSeconds', 'ServerUptime',
    'Load1', 'Load5', 'Load15', 'BusyWorkers', 'GracefulWorkers', 'IdleWorkers', 'Scoreboard');
my %position = map { $all_keys[$_] => $_ } 0 .. $#all_keys;
my @missing = grep { !exists $s->{$_} } @required;
is_deeply(\@missing, [], '?auto has every Apache 2.4 key') or diag("missing: @missing");
my @order = grep { exists $position{$_} } @{ $s->{_order} };
my @sorted = sort { $position{$a} <=> $position{$b} } @order;
is_deeply(\@order, \@sorted, '?auto keys are in Apache\'s order') or diag("order: @{ $s->{_order} }");
my @unknown = grep { !exists $position{$_} } @{ $s->{_order} };
is_deeply(\@unknown, [], '?auto has no keys Apache does not have') or diag("unknown: @unknown");
is($s->{_order}[-1], 'Scoreboard', 'Scoreboard is the last line');
like($s->{ServerVersion} // '', qr{^weft/\d+\.\d+\.\d+\b}, 'ServerVersion: weft/X.Y.Z');
like($s->{ServerUptimeSeconds} // '', qr/^\d+$/, 'ServerUptimeSeconds is a number');
like($s->{ParentServerMPMGeneration} // '', qr/^\d+$/, 'ParentServerMPMGeneration is a number');
like($s->{Load1} // '', qr/^\d+\.\d\d$/, 'Load1 has two decimals');

my $board = $s->{Scoreboard} // '';
like($board, qr/^[_SRWKDCLGI.]+$/, 'Scoreboard uses only mod_status letters');
cmp_ok(length $board, '>=', 10, 'Scoreboard has a character for each of the 2 x 5 threads at least');
my $idle = () = $board =~ /_/g;
is($s->{IdleWorkers}, $idle, 'IdleWorkers equals the number of _ in the Scoreboard');
cmp_ok($s->{BusyWorkers}, '>=', 1, 'BusyWorkers counts the thread serving the status request');
is($s->{BusyWorkers} + $s->{IdleWorkers}, 10, 'BusyWorkers + IdleWorkers = 2 children x 5 threads');
is($s->{GracefulWorkers}, 0, 'GracefulWorkers is 0 at rest');

# ---------------------------------------------------------------- HTML page
$r = $w->get('/server-status');
is($r->{status}, 200, 'GET /server-status is 200');
like($r->{headers}{'content-type'} // '', qr{^text/html\b}, 'the status page is HTML');
like($r->{body} // '', qr/requests? currently being processed/i, 'the status page says how many requests are being processed');
like($r->{body} // '', qr/idle workers?/i, 'the status page says how many workers are idle');

# Outside the <Location>, no status.  (Like Apache, <Location /server-status>
# is a plain prefix: it would also match /server-statusX.)
$r = $w->get('/status');
is($r->{status}, 404, 'the status handler is only where SetHandler puts it');

$w->stop;

# ---------------------------------------------------------------- other StartServers / ThreadsPerChild
{
    my $v = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "x\n" });
StartServers 3
ThreadsPerChild 2
MinSpareThreads 1
MaxSpareThreads 12
MaxClients 5
EOF
    $v->start;
    wait_for(sub { my @k = $v->child_pids; @k == 3 && !grep { $v->threads_of($_) < 2 } @k }, scale(10));
    my @k = $v->child_pids;
    is(scalar @k, 3, 'StartServers 3: three child processes');
    ok(@k && !grep({ $v->threads_of($_) < 2 } @k), 'ThreadsPerChild 2: every child has at least 2 threads');
    $v->stop(name => 'StartServers 3 server');
}

# ---------------------------------------------------------------- ScoreBoardFile
{
    my $v = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "x\n" });
StartServers 2
ThreadsPerChild 3
MinSpareThreads 1
MaxSpareThreads 12
MaxClients 4
ScoreBoardFile logs/scoreboard
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    $v->start;
    wait_for(sub { $v->child_pids == 2 }, scale(10));
    ok(-s $v->path('logs/scoreboard'), 'ScoreBoardFile: the scoreboard is a file under ServerRoot');
    # The second child's threads may still be starting (slowly under the
    # sanitizers) when its process is there: ask until all six are counted.
    my $sa;
    wait_for(sub {
        $sa = $v->status_auto;
        return $sa && ($sa->{BusyWorkers} + $sa->{IdleWorkers}) == 6;
    }, scale(10));
    ok($sa && ($sa->{BusyWorkers} + $sa->{IdleWorkers}) == 6, 'ScoreBoardFile: server-status sees 2 x 3 threads through it')
        or diag($sa ? "Busy $sa->{BusyWorkers} Idle $sa->{IdleWorkers}" : 'no status');
    $v->stop(name => 'ScoreBoardFile server');
}

done_testing;
