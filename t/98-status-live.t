#!/usr/bin/perl
# /server-status?live in a real browser: Debian's headless Chromium (installed
# here with apt-get when missing and running as root; otherwise the test
# fails, it does not skip) loads the page while sleeping CGI requests make the
# control process fork children, and the DOM it dumps must show charts with
# data points, a fork mark the regulation decided (idle threads below
# MinSpareThreads), the scoreboard grid, the Min/MaxSpareThreads band, and no
# error: none caught by the page, none on the browser's console (a
# Content-Security-Policy violation would be one).  The response's own policy
# is strict (a nonce, no 'unsafe-inline', nothing from elsewhere).  Then the
# page's fallback without JavaScript (the plain status page), on a phone-sized
# screen in dark mode (the dark scheme applies, nothing wider than the
# screen), and a screenshot (WEFT_SCREENSHOT=docs/status-live.png keeps it).
#
# Chromium is told to stay on the loopback interface: every request it makes
# to anywhere else goes to a proxy on 127.0.0.1 that is not there, and its
# background services are off.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Copy qw(copy);
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use JSON::PP ();
use WeftTest qw(wait_for scale);

# ---------------------------------------------------------------- the browser
sub find_chromium {
    for my $dir (split /:/, $ENV{PATH} // '') {
        return "$dir/chromium" if -x "$dir/chromium";
    }
    return undef;
}
my $chromium = find_chromium();
if (!$chromium && $> == 0) {
    diag('chromium missing: apt-get install -y chromium');
    system('sh', '-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || '
        . '(apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1)');
    $chromium = find_chromium();
}
ok($chromium, 'headless Chromium is available (Debian package chromium)')
    or do { diag('install the chromium package, or run the test as root'); done_testing; exit 1 };

my $SLEEP_CGI = <<'EOF';
#!/bin/sh
sleep 1
printf 'Content-Type: text/plain\r\n\r\nslept\n'
EOF
my $w = WeftTest->new(
    conf => <<'EOF',
ServerLimit 8
StartServers 1
ThreadsPerChild 2
MinSpareThreads 1
MaxSpareThreads 4
MaxClients 8
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
<Location /server-status>
    SetHandler server-status
</Location>
<Location /denied-status>
    SetHandler server-status
    Require ip 192.0.2.1
</Location>
EOF
    files => { 'www/index.html' => "index\n", 'cgi-bin/sleep.cgi' => $SLEEP_CGI },
);
chmod 0755, $w->path('cgi-bin/sleep.cgi');
$w->start;
my $base = 'http://127.0.0.1:' . $w->port;
my $profile = $w->path('chromium-profile');

# Runs Chromium with @args and the URL; returns (exit status, stdout, stderr).
# Bounded: killed (by its pid) after $limit seconds.
sub chromium {
    my ($url, $limit, @args) = @_;
    my ($out, $err) = ($w->path('chromium.out'), $w->path('chromium.err'));
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        exec $chromium, '--headless', '--disable-gpu', '--no-sandbox', "--user-data-dir=$profile",
            '--no-first-run', '--no-default-browser-check', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
            '--proxy-server=http://127.0.0.1:9', '--enable-logging=stderr', '--v=0', @args, $url;
        POSIX::_exit(127);
    }
    my $deadline = time + $limit;
    my $status;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) { $status = $?; last }
        sleep 0.1;
    }
    if (!defined $status) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        $status = -1;
    }
    return ($status, $w->read_file('chromium.out') // '', $w->read_file('chromium.err') // '');
}

# Console messages as Chromium logs them with --enable-logging=stderr.
sub console_lines { grep { /:CONSOLE[:(]/ } split /\n/, $_[0] }

sub attribute {
    my ($dom, $id, $name) = @_;
    return undef unless $dom =~ /<[^>]*\bid="\Q$id\E"[^>]*>/;
    my $tag = $&;
    return $tag =~ /\b\Q$name\E="([^"]*)"/ ? $1 : undef;
}

# ---------------------------------------------------------------- the response
my $page = $w->get('/server-status?live');
is($page->{status}, 200, '?live answers 200');
like($page->header('content-type') // '', qr{^text/html}, 'as HTML');
my $csp = $page->header('content-security-policy') // '';
like($csp, qr/default-src 'none'/, "Content-Security-Policy: default-src 'none'");
my ($nonce) = $csp =~ /script-src 'nonce-([A-Za-z0-9+\/=]+)'/;
ok($nonce && length $nonce >= 16, 'scripts only by a nonce');
like($csp, qr/style-src 'nonce-\Q$nonce\E'/, 'styles by the same nonce') if $nonce;
unlike($csp, qr/unsafe-inline|unsafe-eval|\*/, "no 'unsafe-inline', no 'unsafe-eval', no wildcard");
like($csp, qr/connect-src 'self'/, 'fetches to the same origin only');
my $body = $page->{body} // '';
my @scripts = $body =~ /<script\b([^>]*)>/g;
my @styles = $body =~ /<style\b([^>]*)>/g;
is(scalar(grep { /nonce="\Q$nonce\E"/ } @scripts), scalar @scripts, 'every <script> carries the nonce') if $nonce;
is(scalar(grep { /nonce="\Q$nonce\E"/ } @styles), scalar @styles, 'every <style> carries the nonce') if $nonce;
unlike($body, qr/<(?:link|img|iframe)\b|\bsrc=|\bstyle="|\bon[a-z]+=|url\(/i,
    'self-contained: no external resource, no inline handler or style attribute');
like($body, qr/<meta name="viewport"/, 'a viewport for phones');
like($body, qr/prefers-color-scheme: dark/, 'a dark scheme');
like($body, qr/<noscript><meta http-equiv="refresh" content="0; url=\?refresh=5">/,
    'without JavaScript: off to the plain page');
my $again = $w->get('/server-status?live')->header('content-security-policy') // '';
isnt($again, $csp, 'a fresh nonce for every response');
is($w->get('/denied-status?live')->{status}, 403, 'Require applies to ?live as to the page');

# ---------------------------------------------------------------- under load
my $load = $w->start_load(clients => 8, duration => scale(14), path => '/cgi-bin/sleep.cgi');
my $json = JSON::PP->new->utf8;
my $forked = wait_for(sub {
    my $r = $w->get('/server-status?json');
    my $d = eval { $json->decode($r->{body} // '') } or return 0;
    grep { $_->{action} eq 'fork' && $_->{reason} =~ /MinSpareThreads/ } @{ $d->{regulation}{decisions} };
}, scale(10));
ok($forked, 'the burst made the control process fork (seen in ?json)');

my $started = time;
my ($status, $dom, $log) = chromium("$base/server-status?live", scale(40), '--virtual-time-budget=6000',
    '--window-size=1200,1000', '--dump-dom');
my $took = time - $started;
is($status, 0, sprintf('chromium --dump-dom ran (%.1f s)', $took)) or diag(join "\n", (split /\n/, $log)[-10 .. -1]);
my $polls = $dom =~ /<body[^>]*data-polls="(\d+)"/ ? $1 : 0;
cmp_ok($polls, '>=', 3, "the page polled ?json ($polls times)");
for my $chart (qw(chart-rps chart-threads chart-children)) {
    cmp_ok(attribute($dom, $chart, 'data-samples') // 0, '>=', 2, "$chart has data points");
}
cmp_ok(attribute($dom, 'busy-line', 'data-points') // 0, '>=', 2, 'the busy thread line is drawn');
cmp_ok(attribute($dom, 'idle-line', 'data-points') // 0, '>=', 2, 'the idle thread line is drawn');
is(attribute($dom, 'spare-band', 'data-min'), 1, 'the band starts at MinSpareThreads');
is(attribute($dom, 'spare-band', 'data-max'), 4, 'and ends at MaxSpareThreads');
cmp_ok(attribute($dom, 'chart-children', 'data-forks') // 0, '>=', 1, 'fork events are marked');
my @marks = $dom =~ /<line\b[^>]*\bdata-action="fork"[^>]*>/g;
ok(scalar(grep { /data-reason="idle threads below MinSpareThreads"/ } @marks),
    'a fork mark of the burst: idle threads below MinSpareThreads');
cmp_ok(attribute($dom, 'grid', 'data-cells') // 0, '>=', 2, 'the scoreboard grid has cells');
my @busy_cells = $dom =~ /data-state="[RW]"/g;
cmp_ok(scalar @busy_cells, '>=', 1, 'busy threads in the grid (coloured by state)');
my ($decisions) = $dom =~ m{<tbody id="decisions">(.*?)</tbody>}s;
like($decisions // '', qr{<td>fork</td>}, 'the decisions table lists forks with their reasons');
unlike($dom, qr/<body[^>]*data-errors=/, 'no error caught by the page (script errors, CSP violations)');
my @console = console_lines($log);
is_deeply(\@console, [], 'nothing on the browser console');

# The screenshot, while the children are still busy.
my $png = $w->path('status-live.png');
($status) = chromium("$base/server-status?live", scale(40), '--virtual-time-budget=8000',
    '--window-size=1100,1250', '--hide-scrollbars', "--screenshot=$png");
my $header = '';
if (open my $fh, '<:raw', $png) { read $fh, $header, 8; close $fh }
ok($header eq "\x89PNG\r\n\x1a\n" && -s $png > 10000, 'a screenshot (PNG)');
if ($ENV{WEFT_SCREENSHOT} && -s $png) {
    copy($png, $ENV{WEFT_SCREENSHOT}) or diag("copy to $ENV{WEFT_SCREENSHOT}: $!");
}
$load->finish;

# ---------------------------------------------------------------- no JavaScript, phone, dark
# Without JavaScript: headless Chromium cannot dump a DOM with scripts off
# (--blink-settings=scriptEnabled=false makes it exit without loading
# anything), so the fallback is checked as HTTP: the <noscript> refresh
# above leads to the plain page, which refreshes itself.
my $plain = $w->get('/server-status?refresh=5');
like($plain->{body} // '', qr/Weft Server Status for/, 'the <noscript> target is the plain status page');
is($plain->header('refresh'), 5, 'refreshing itself every 5 s');

($status, $dom, $log) = chromium("$base/server-status?live", scale(30), '--virtual-time-budget=3000',
    '--window-size=390,844', '--force-dark-mode', '--dump-dom');
like($dom, qr/<body[^>]*data-scheme="dark"/, 'a phone in dark mode: the dark scheme applies');
like($dom, qr/<body[^>]*data-fits="true"/, 'and nothing is wider than its 390 px screen');
is_deeply([ console_lines($log) ], [], 'nothing on the console there either');

$w->stop;
done_testing;
