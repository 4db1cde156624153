#!/usr/bin/perl
# /server-status?auto field by field against Apache 2.4's mod_status: the
# keys in Apache's order, each value in Apache's format (APR's %g without a
# leading zero, the ServerVersion layout apache_exporter needs); ExtendedStatus
# Off; ?refresh; the HTML page's per-thread table with URL passwords removed;
# and, when Debian's prometheus-apache-exporter is installed, a real scrape.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::IP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale free_port);

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 2
ThreadsPerChild 4
MinSpareThreads 2
MaxSpareThreads 16
MaxClients 4
ServerName status.example
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    files => { 'www/index.html' => "index\n" },
);
$w->start;
wait_for(sub { my $s = $w->status_auto; $s && $s->{IdleWorkers} + $s->{BusyWorkers} >= 8 }, scale(10));
$w->get('/') for 1 .. 5;
$w->get('/missing');
sleep 1.1;    # an uptime of at least a second: the per-second keys appear

my $s = $w->status_auto;
ok($s, '?auto answers 200') or BAIL_OUT('no ?auto');
my $r = $s->{_response};
is($r->{headers}{'content-type'}, 'text/plain; charset=ISO-8859-1', 'Content-Type as Apache 2.4');

# Apache 2.4.58's keys, in order (modules/generators/mod_status.c); the ones
# marked optional appear under the same conditions as there.
my @apache_keys = (
    [ 'ServerVersion' ], [ 'ServerMPM' ], [ 'Server Built' ], [ 'CurrentTime' ], [ 'RestartTime' ],
    [ 'ParentServerConfigGeneration' ], [ 'ParentServerMPMGeneration' ], [ 'ServerUptimeSeconds' ],
    [ 'ServerUptime' ], [ 'Load1' ], [ 'Load5' ], [ 'Load15' ],
    [ 'Total Accesses' ], [ 'Total kBytes' ], [ 'Total Duration' ], [ 'CPUUser' ], [ 'CPUSystem' ],
    [ 'CPUChildrenUser' ], [ 'CPUChildrenSystem' ], [ 'CPULoad', 'if CPU time > 0' ], [ 'Uptime' ],
    [ 'ReqPerSec', 'if uptime > 0' ], [ 'BytesPerSec', 'if uptime > 0' ],
    [ 'BytesPerReq', 'if accesses > 0' ], [ 'DurationPerReq', 'if accesses > 0' ],
    [ 'BusyWorkers' ], [ 'GracefulWorkers' ], [ 'IdleWorkers' ], [ 'Scoreboard' ],
);
my @lines = @{ $s->{_lines} };
is($lines[0], '127.0.0.1', 'first line: the server name, bare (the Host of the request, no port)');
my @got = map { /^([^:]+): ?(.*)$/ ? $1 : "(bare: $_)" } @lines[1 .. $#lines];
my @expected;
for my $k (@apache_keys) {
    my ($key, $condition) = @$k;
    next if $condition && !grep { $_ eq $key } @got;    # checked below: the condition must be false then
    push @expected, $key;
}
is_deeply(\@got, \@expected, 'the keys are Apache 2.4\'s, in its order, one per line')
    or diag(join "\n", @lines);

# The conditional keys are there exactly when Apache would print them.
ok(defined $s->{ReqPerSec} && defined $s->{BytesPerSec}, 'uptime > 0: ReqPerSec and BytesPerSec present');
ok(defined $s->{BytesPerReq} && defined $s->{DurationPerReq}, 'accesses > 0: BytesPerReq and DurationPerReq present');

# Value formats, field by field.
my $APR_G = qr/^(?:0|-?(?:[1-9]\d*(?:\.\d+)?|\.\d*[1-9]\d*|\d\.\d*e[+-]\d+))$/;
like($s->{ServerVersion}, qr{^weft/\d+\.\d+\.\d+ \(Unix\)$},
    'ServerVersion: Name/MAJOR.MINOR.PATCH (extra): apache_exporter splits it in three');
is($s->{ServerMPM}, 'worker', 'ServerMPM: worker');
like($s->{'Server Built'}, qr/^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{4} \d\d:\d\d:\d\d$/,
    'Server Built: as __DATE__ __TIME__');
my $DATE = qr/^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \d\d-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4} \d\d:\d\d:\d\d \S+$/;
like($s->{CurrentTime}, $DATE, 'CurrentTime: "%A, %d-%b-%Y %H:%M:%S %Z"');
like($s->{RestartTime}, $DATE, 'RestartTime: the same format');
like($s->{$_}, qr/^\d+$/, "$_: an integer")
    for 'ParentServerConfigGeneration', 'ParentServerMPMGeneration', 'ServerUptimeSeconds', 'Total Accesses',
    'Total kBytes', 'Total Duration', 'Uptime', 'BusyWorkers', 'GracefulWorkers', 'IdleWorkers';
is($s->{ParentServerConfigGeneration}, 1, 'ParentServerConfigGeneration starts at 1');
is($s->{ParentServerMPMGeneration}, 0, 'ParentServerMPMGeneration starts at 0');
is($s->{Uptime}, $s->{ServerUptimeSeconds}, 'Uptime and ServerUptimeSeconds agree');
ok((grep { /^ServerUptime:(?: \d+ (?:day|hour|minute|second)s?)+$/ } @lines), 'ServerUptime: " N seconds" as show_time');
like($s->{$_}, qr/^\d+\.\d\d$/, "$_: %.2f") for 'Load1', 'Load5', 'Load15';
for my $key (qw(CPUUser CPUSystem CPUChildrenUser CPUChildrenSystem ReqPerSec BytesPerSec BytesPerReq DurationPerReq), ($s->{CPULoad} ? 'CPULoad' : ())) {
    like($s->{$key}, $APR_G, "$key: APR's %g (\"$s->{$key}\")");
}
cmp_ok($s->{'Total Accesses'}, '>=', 6, 'Total Accesses counts the requests served');
my $per_sec = $s->{'Total Accesses'} / $s->{Uptime};
my $got_rate = $s->{ReqPerSec} =~ /^\./ ? "0$s->{ReqPerSec}" : $s->{ReqPerSec};
ok(abs($got_rate - $per_sec) < 0.001 * $per_sec + 1e-6, "ReqPerSec = Total Accesses / Uptime ($s->{ReqPerSec})");
ok(abs($s->{BytesPerReq} - 1024 * $s->{'Total kBytes'} / $s->{'Total Accesses'}) < 0.01,
    'BytesPerReq = 1024 x Total kBytes / Total Accesses, as Apache computes it');
cmp_ok($s->{BusyWorkers}, '>=', 1, 'BusyWorkers counts at least the thread answering');
like($s->{Scoreboard}, qr/^[._SRWKDCLGI]+$/, 'Scoreboard: mod_status letters only');
is(length($s->{Scoreboard}), 4 * 4, 'Scoreboard: MaxClients x ThreadsPerChild slots');
my %count;
$count{$_}++ for split //, $s->{Scoreboard};
is($count{_} // 0, $s->{IdleWorkers}, "'_' in the scoreboard = IdleWorkers");
is(length($s->{Scoreboard}) - ($count{_} // 0) - ($count{'.'} // 0) - ($count{G} // 0), $s->{BusyWorkers},
    'busy slots in the scoreboard = BusyWorkers (apache_exporter adds them up)');

# Numbers Apache users see with a fresh server: no leading zero, ever.
for my $key (grep { defined $s->{$_} } qw(CPUUser CPUSystem CPULoad ReqPerSec BytesPerSec BytesPerReq DurationPerReq)) {
    unlike($s->{$key}, qr/^-?0\d|^-?0\./, "$key has no leading zero");
}

# ---------------------------------------------------------------- refresh, HTML, passwords
{
    my $r5 = $w->get('/server-status?auto&refresh=5');
    is($r5->{headers}{refresh}, '5', '?refresh=5: Refresh: 5');
    my $r0 = $w->get('/server-status?refresh');
    is($r0->{headers}{refresh}, '10', '?refresh without a number: 10 seconds (Apache 2.4)');
    my $none = $w->get('/server-status');
    ok(!defined $none->{headers}{refresh}, 'no refresh asked: no Refresh header');

    my $port = $w->port;
    my $raw = "GET http://user:s3cr3t\@127.0.0.1:$port/secret-path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n";
    my $sr = $w->request($raw);
    ok(defined $sr->{status}, 'a request with a password in its absolute-form target is answered')
        or diag($sr->{error});
    my $html = $w->get('/server-status');
    is($html->{status}, 200, 'the HTML page answers');
    like($html->{headers}{'content-type'}, qr{^text/html; charset=ISO-8859-1$}, 'HTML: Content-Type as Apache');
    like($html->{body}, qr{<th>Srv</th><th>PID</th><th>Gen</th><th>Acc</th><th>M</th>.*<th>Client</th><th>VHost</th><th>Request</th>}s,
        'ExtendedStatus table: slot, pid, generation, accesses, mode, ..., client, vhost, request');
    like($html->{body}, qr{<td>127\.0\.0\.1</td><td nowrap>status\.example</td><td nowrap>GET http://user\@127\.0\.0\.1:$port/secret-path HTTP/1\.1</td>},
        'a thread row shows the client, the virtual host and the request line ...');
    unlike($html->{body}, qr/s3cr3t/, '... without its password');
    my $notable = $w->get('/server-status?notable');
    unlike($notable->{body}, qr{<th>Client</th>}, '?notable leaves the per-thread table out');
}

# ---------------------------------------------------------------- a real scrape
SKIP: {
    my ($exporter) = grep { -x $_ } qw(/usr/bin/prometheus-apache-exporter);
    skip 'prometheus-apache-exporter is not installed', 4 unless $exporter;
    my $port = free_port();
    my $uri = 'http://127.0.0.1:' . $w->port . '/server-status?auto';
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', $w->path('logs/exporter.out');
        open STDERR, '>&', \*STDOUT;
        { exec $exporter, "--scrape_uri=$uri", "--telemetry.address=127.0.0.1:$port"; }
        POSIX::_exit(127);
    }
    my $metrics = '';
    wait_for(sub {
        my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => 2) or return 0;
        print $sock "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        local $/;
        $metrics = <$sock> // '';
        return $metrics =~ /^apache_up /m;
    }, scale(10));
    kill 'TERM', $pid;
    waitpid($pid, 0);
    like($metrics, qr/^apache_up 1$/m, 'apache_exporter scrapes ?auto: apache_up 1')
        or diag(($w->read_file('logs/exporter.out') // '') . "\n" . substr($metrics, 0, 2000));
    like($metrics, qr/^apache_accesses_total \d+/m, 'apache_exporter reads Total Accesses');
    like($metrics, qr/^apache_workers\{state="idle"\} \d+/m, 'apache_exporter reads the worker counts');
    like($metrics, qr/^apache_scoreboard\{state="idle"\} \d+/m, 'apache_exporter reads the scoreboard');
}
$w->stop;

# ---------------------------------------------------------------- ExtendedStatus Off
{
    my $v = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "x\n" });
ExtendedStatus Off
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    $v->start;
    $v->get('/');
    my $t = $v->status_auto;
    my @keys = @{ $t->{_order} || [] };
    is_deeply(\@keys, [qw(ServerVersion ServerMPM), 'Server Built', qw(CurrentTime RestartTime
        ParentServerConfigGeneration ParentServerMPMGeneration ServerUptimeSeconds ServerUptime Load1 Load5
        Load15 BusyWorkers GracefulWorkers IdleWorkers Scoreboard)],
        'ExtendedStatus Off: no totals, as Apache') or diag(join "\n", @{ $t->{_lines} || [] });
    $v->stop(name => 'ExtendedStatus Off server');
}

# ---------------------------------------------------------------- bytes: bodies only
# Apache's bytes_served is r->bytes_sent, the body without the head: a file of
# known size fetched N times is N x size bytes, and "Total kBytes" is that sum
# shifted down by 10 bits (mod_status carries the remainder, so it is floor).
# HEAD requests count as accesses with no bytes.  Nothing else may touch this
# server before the first ?auto.
{
    my $size = 3000;
    my $v = WeftTest->new(conf => <<'EOF', files => { 'www/blob' => ('b' x ($size - 1)) . "\n" });
StartServers 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 16
MaxClients 2
<Location /server-status>
    SetHandler server-status
</Location>
EOF
    $v->start;
    wait_for(sub { $v->child_pids >= 1 }, scale(10));
    my ($gets, $heads) = (7, 3);
    my $got = 0;
    for (1 .. $gets) { my $r = $v->get('/blob'); $got++ if ($r->{status} // 0) == 200 && length($r->{body}) == $size }
    is($got, $gets, "$gets GETs of a $size-byte file");
    $v->head('/blob') for 1 .. $heads;
    my $t = $v->status_auto;
    is($t->{'Total Accesses'}, $gets + $heads, 'Total Accesses: every GET and HEAD');
    is($t->{'Total kBytes'}, int($gets * $size / 1024),
        "Total kBytes = floor($gets x $size / 1024): response bodies only, as Apache (heads not counted)");
    my $kb = int($gets * $size / 1024);
    my $bpr = sprintf('%.6g', 1024 * $kb / ($gets + $heads));
    is($t->{BytesPerReq}, $bpr, "BytesPerReq = 1024 x Total kBytes / Total Accesses ($bpr)");

    # The HTML page: Apache's units (format_kbyte_out / format_byte_out),
    # counting the body of the ?auto answer just sent too.
    my $bytes = $gets * $size + length($t->{_response}{body});
    my $count = $gets + $heads + 1;
    my $html = $v->get('/server-status');
    my $traffic = int($bytes / 1024);
    like($html->{body}, qr{Total accesses: $count - Total Traffic: $traffic kB - Total Duration: \d+},
        "HTML: Total Traffic in whole kB as Apache ($traffic kB)");
    my $per_request = int(1024 * $traffic / $count);
    like($html->{body}, qr{(?:<dt>| - )$per_request B/request - [\d.e+-]+ ms/request},
        "HTML: B/request from the kB total, as Apache ($per_request B)");
    like($html->{body}, qr{<tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>},
        'HTML: the Slot column is in megabytes, as Apache');
    like($html->{body}, qr{<td>\d+</td><td>\d+</td><td>\d+\.\d\d</td><td>127\.0\.0\.1</td>},
        'HTML: a thread row\'s Slot figure has two decimals');
    $v->stop(name => 'body bytes server');
}

done_testing;
