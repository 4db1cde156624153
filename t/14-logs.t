#!/usr/bin/perl
# Access log (common, combined, custom LogFormat) byte-exact except for the
# time fields, whole lines under concurrency; error log line format and
# LogLevel.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);

my $index = "<html><body>log test</body></html>\n";
my $w = WeftTest->new(
    conf => <<'EOF',
LogLevel debug
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog logs/access_log common
CustomLog logs/combined_log combined
LogFormat "%m|%U|%q|%H|%>s|%B|%b|%O|%D|%T|%{X-Test}i" custom
CustomLog logs/custom_log custom
EOF
    files => { 'www/index.html' => $index, 'www/a.txt' => "AAAA\n" },
);
$w->start;
my $port = $w->port;
my $H = "Host: 127.0.0.1:$port\r\n";

my $TIME = qr{\[\d\d/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]};

my @requests = (
    ["GET /index.html?q=1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n", 'GET /index.html?q=1 HTTP/1.1'],
    ["GET /nope HTTP/1.1\r\n${H}Referer: http://example.com/from\r\nUser-Agent: weft-test/1.0\r\nConnection: close\r\n\r\n", 'GET /nope HTTP/1.1'],
    ["HEAD /a.txt HTTP/1.1\r\n${H}User-Agent: quote\"in\"agent\r\nConnection: close\r\n\r\n", 'HEAD /a.txt HTTP/1.1'],
    ["GET /a.txt HTTP/1.0\r\nX-Test: hello\r\n\r\n", 'GET /a.txt HTTP/1.0'],
);
# One at a time, each logged in all three files before the next is sent:
# a response reaches the client before its log line is written, so a next
# request on another thread could otherwise log first and the lines would
# not be in request order.
my @responses;
for my $request (@requests) {
    push @responses, $w->request($request->[0]);
    my $n = scalar @responses;
    wait_for(sub {
        !grep { scalar(split /\n/, ($w->read_file("logs/$_") // '')) < $n } qw(access_log combined_log custom_log)
    }, scale(5));
}
is($responses[0]{status}, 200, 'request 1 answered');
is($responses[1]{status}, 404, 'request 2 answered');

my @common = $w->wait_access_log_lines(4);
is(scalar @common, 4, 'common log: one line per request');
my $bytes404 = length($responses[1]{body} // '');
my @expect = (
    qr{^127\.0\.0\.1 - - $TIME "GET /index\.html\?q=1 HTTP/1\.1" 200 ${\ length $index}$},
    qr{^127\.0\.0\.1 - - $TIME "GET /nope HTTP/1\.1" 404 $bytes404$},
    qr{^127\.0\.0\.1 - - $TIME "HEAD /a\.txt HTTP/1\.1" 200 -$},
    qr{^127\.0\.0\.1 - - $TIME "GET /a\.txt HTTP/1\.0" 200 5$},
);
like($common[0] // '', $expect[0], 'common: a 200 line, byte-exact (%h %l %u %t "%r" %>s %b)');
like($common[1] // '', $expect[1], 'common: a 404 line with the error body size');
like($common[2] // '', $expect[2], 'common: HEAD logs "-" for no body bytes (%b)');
like($common[3] // '', $expect[3], 'common: an HTTP/1.0 request line');
my $log = $w->access_log;
like($log, qr/\n\z/, 'the access log ends with a newline (whole lines)');
unlike($log, qr/\r/, 'no CR in the access log');

# The time stamp is the local time of the request, within a few seconds.
if (($common[0] // '') =~ m{\[(\d\d)/(\w{3})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\]}) {
    my %mon = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5, Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
    require Time::Local;
    my $t = Time::Local::timegm($6, $5, $4, $1, $mon{$2}, $3) - ($7 eq '-' ? -1 : 1) * ($8 * 3600 + $9 * 60);
    ok(abs($t - time) <= 10, '%t is the time of the request (with its UTC offset)');
} else {
    fail('%t is the time of the request (with its UTC offset)');
}

my @combined;
wait_for(sub { @combined = split /\n/, ($w->read_file('logs/combined_log') // ''); @combined >= 4 }, scale(5));
like($combined[0] // '', qr{^127\.0\.0\.1 - - $TIME "GET /index\.html\?q=1 HTTP/1\.1" 200 ${\ length $index} "-" "-"$},
    'combined: missing Referer and User-Agent are "-"');
like($combined[1] // '', qr{^127\.0\.0\.1 - - $TIME "GET /nope HTTP/1\.1" 404 $bytes404 "http://example\.com/from" "weft-test/1\.0"$},
    'combined: Referer and User-Agent');
like($combined[2] // '', qr{ "-" "quote\\"in\\"agent"$}, 'combined: a quote inside a header value is escaped as \\"');

my @custom;
wait_for(sub { @custom = split /\n/, ($w->read_file('logs/custom_log') // ''); @custom >= 4 }, scale(5));
my $O0 = length $responses[0]{raw};
like($custom[0] // '', qr{^GET\|/index\.html\|\?q=1\|HTTP/1\.1\|200\|${\ length $index}\|${\ length $index}\|$O0\|\d+\|\d+\|-$},
    'custom: %m %U %q %H %>s %B %b %O %D %T %{X-Test}i');
like($custom[2] // '', qr{^HEAD\|/a\.txt\|\|HTTP/1\.1\|200\|0\|-\|\d+\|\d+\|\d+\|-$},
    'custom: HEAD has %B 0 and %b -, and an empty %q');
like($custom[3] // '', qr{\|hello$}, 'custom: %{X-Test}i logs the request header');

# ---------------------------------------------------------------- whole lines under load
{
    my $before = scalar(split /\n/, $w->access_log);
    my $load = $w->start_load(clients => 4, duration => scale(1.5), path => '/a.txt', expect => "AAAA\n");
    my $res = $load->finish;
    is($res->{failures}, 0, 'load for the log test: no failed request') or diag(join "\n", @{ $res->{errors} });
    my $total = $before + $res->{requests};
    my @lines = $w->wait_access_log_lines($total, scale(5));
    is(scalar @lines, $total, "the access log has one line per request ($res->{requests} under load)");
    my @bad = grep { !/^127\.0\.0\.1 - - $TIME "GET \/a\.txt HTTP\/1\.1" 200 5$/ } @lines[$before .. $#lines];
    is(scalar @bad, 0, 'every line written under load is whole (never interleaved)') or diag(join "\n", @bad[0 .. ($#bad < 5 ? $#bad : 5)]);
}

# ---------------------------------------------------------------- error log
{
    my $text = $w->error_log;
    my @lines = grep { length } split /\n/, $text;
    cmp_ok(scalar @lines, '>', 0, 'the error log has lines (LogLevel debug)');
    my $LINE = qr{^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d\.\d{6} \d{4}\] \[(?:emerg|alert|crit|error|warn|notice|info|debug|trace[1-8])\] \[pid \d+:tid \d+\] \S};
    my @bad = grep { !/$LINE/ } @lines;
    is(scalar @bad, 0, 'every error log line is "[time] [level] [pid N:tid N] message"')
        or diag(join "\n", @bad[0 .. ($#bad < 5 ? $#bad : 5)]);
    my %pids = map { /\[pid (\d+):/ ? ($1 => 1) : () } @lines;
    ok($pids{ $w->pid }, 'the control process writes to the error log with its own pid');
}
$w->stop;

# ---------------------------------------------------------------- LogLevel filters
{
    my $v = WeftTest->new(conf => "LogLevel warn\n", files => { 'www/index.html' => "x\n" });
    $v->start;
    $v->get('/nope') for 1 .. 3;
    $v->get('/');
    $v->stop(name => 'LogLevel warn server');
    my @lines = grep { length } split /\n/, $v->error_log;
    my @low = grep { /\] \[(info|debug|trace\d)\] / } @lines;
    is(scalar @low, 0, 'LogLevel warn: no info, debug or trace lines') or diag(join "\n", @low[0 .. ($#low < 5 ? $#low : 5)]);
}

done_testing;
