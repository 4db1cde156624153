#!/usr/bin/perl
# /server-status?live in a real browser: Debian's headless Chromium, driven
# through chromedriver's WebDriver interface (HTTP on 127.0.0.1, from core
# Perl).  The packages chromium and chromium-driver are installed here with
# apt-get when missing and running as root; otherwise the test fails, it does
# not skip.  The page is loaded while sleeping CGI requests make the control
# process fork children; after a few polls (real time) its DOM must show
# charts with data points, a fork mark the regulation decided (idle threads
# below MinSpareThreads), the scoreboard grid, the Min/MaxSpareThreads band;
# once the burst is over, a retire mark.  No error anywhere: none caught by
# the page, nothing at warning level or above in the browser's console log
# (a Content-Security-Policy violation would be there).  The response's own
# policy is strict (a nonce, no 'unsafe-inline', nothing from elsewhere).
# Then a phone-sized screen in dark mode (the dark scheme applies, nothing
# wider than the screen), and scripts off (the browser ends on the plain
# status page).  A screenshot is taken; WEFT_SCREENSHOT=docs/status-live.png
# keeps it.
#
# Chromium is told to stay on the loopback interface: every request it makes
# to anywhere else goes to a proxy on 127.0.0.1 that is not there, and its
# background services are off.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::IP;
use MIME::Base64 ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use JSON::PP ();
use WeftTest qw(wait_for scale free_port send_raw read_response);

# ---------------------------------------------------------------- the browser
sub find_program {
    my ($name) = @_;
    for my $dir (split(/:/, $ENV{PATH} // ''), '/usr/bin', '/usr/lib/chromium') {
        return "$dir/$name" if -x "$dir/$name";
    }
    return undef;
}
my ($chromium, $driver) = (find_program('chromium'), find_program('chromedriver'));
if ((!$chromium || !$driver) && $> == 0) {
    diag('installing chromium and chromium-driver with apt-get');
    my $install = 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1';
    system('sh', '-c', "$install || (apt-get update -qq >/dev/null 2>&1 && $install)");
    ($chromium, $driver) = (find_program('chromium'), find_program('chromedriver'));
}
ok($chromium && $driver, 'headless Chromium and chromedriver are available (Debian: chromium, chromium-driver)')
    or do { diag('install chromium and chromium-driver, or run the test as root'); done_testing; exit 1 };
# The browser itself, not Debian's wrapper script (which only adds flags).
$chromium = '/usr/lib/chromium/chromium' if -x '/usr/lib/chromium/chromium';

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

my $json = JSON::PP->new->utf8->canonical;

# ---------------------------------------------------------------- WebDriver
my $driver_port = free_port();
my $owner = $$;
my $driver_pid = fork;
die "fork: $!" unless defined $driver_pid;
if ($driver_pid == 0) {
    open STDOUT, '>', $w->path('logs/chromedriver.out');
    open STDERR, '>&', \*STDOUT;
    { exec { $driver } $driver, "--port=$driver_port", '--allowed-ips=127.0.0.1' }
    POSIX::_exit(127);
}

# One WebDriver command: returns its "value" (undef and a diagnostic on error).
sub webdriver {
    my ($method, $path, $body, $limit) = @_;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $driver_port, Timeout => 5)
        or return undef;
    my $content = defined $body ? $json->encode($body) : '';
    send_raw($sock, "$method $path HTTP/1.1\r\nHost: 127.0.0.1:$driver_port\r\nConnection: close\r\n"
        . "Content-Type: application/json; charset=utf-8\r\nContent-Length: " . length($content) . "\r\n\r\n$content");
    my $r = read_response($sock, timeout => $limit // scale(30));
    close $sock;
    my $answer = eval { $json->decode($r->{body} // '') };
    if (($r->{status} // 0) != 200 || !$answer) {
        diag("WebDriver $method $path: " . ($r->{status} // 'no answer') . ' ' . substr($r->{body} // '', 0, 300));
        return undef;
    }
    return $answer->{value};
}

ok(wait_for(sub { my $s = webdriver('GET', '/status', undef, 2); $s && $s->{ready} }, scale(10)),
    'chromedriver is ready');
my $profile = $w->path('chromium-profile');
my $session = webdriver('POST', '/session', { capabilities => { alwaysMatch => {
    browserName => 'chrome',
    'goog:loggingPrefs' => { browser => 'ALL' },
    'goog:chromeOptions' => { binary => $chromium, args => [
        '--headless', '--disable-gpu', '--no-sandbox', '--disable-dev-shm-usage', "--user-data-dir=$profile",
        '--window-size=1100,820', '--hide-scrollbars', '--no-first-run', '--no-default-browser-check',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-default-apps', '--disable-extensions', '--proxy-server=http://127.0.0.1:9' ] },
} } }, scale(60));
my $id = $session && $session->{sessionId};
ok($id, 'a browser session') or do { close_browser(); done_testing; exit 1 };

sub run_js { webdriver('POST', "/session/$id/execute/sync", { script => $_[0], args => [] }) }
sub cdp { webdriver('POST', "/session/$id/goog/cdp/execute", { cmd => $_[0], params => $_[1] // {} }) }
sub open_page { webdriver('POST', "/session/$id/url", { url => $_[0] }, scale(30)) }
sub body_attribute { run_js("return document.body ? document.body.getAttribute('$_[0]') : null;") }

# The browser's console since the last call: entries at WARNING or above.
sub console_problems {
    my $log = webdriver('POST', "/session/$id/se/log", { type => 'browser' }) // [];
    return map { "$_->{level}: $_->{message}" } grep { $_->{level} =~ /^(?:SEVERE|WARNING)$/ } @$log;
}

sub attribute {
    my ($dom, $element_id, $name) = @_;
    return undef unless $dom =~ /<[^>]*\bid="\Q$element_id\E"[^>]*>/;
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
unlike($body, qr/<(?:link(?! rel="icon" href="data:,">)|img|iframe)\b|\bsrc=|\bstyle="|\bon[a-z]+=|url\(/i,
    'self-contained: no external resource (the icon is an empty data: URL), no inline handler or style attribute');
like($csp, qr/img-src data:;/, 'images: data: only (the empty icon)');
like($body, qr/<meta name="viewport"/, 'a viewport for phones');
like($body, qr/prefers-color-scheme: dark/, 'a dark scheme');
like($body, qr/<noscript><meta http-equiv="refresh" content="0; url=\?refresh=5">/,
    'without JavaScript: off to the plain page');
my $again = $w->get('/server-status?live')->header('content-security-policy') // '';
isnt($again, $csp, 'a fresh nonce for every response');
is($w->get('/denied-status?live')->{status}, 403, 'Require applies to ?live as to the page');

# ---------------------------------------------------------------- under load
# The page first, on a quiet server; then the burst arrives.
my $started = time;
open_page("$base/server-status?live");
ok(wait_for(sub { (body_attribute('data-polls') // 0) >= 3 }, scale(15)),
    sprintf('the page polls ?json (3 polls in %.1f s)', time - $started));
my $load = $w->start_load(clients => 8, duration => scale(5), path => '/cgi-bin/sleep.cgi');
my $forked = wait_for(sub {
    my $r = $w->get('/server-status?json');
    my $d = eval { $json->decode($r->{body} // '') } or return 0;
    grep { $_->{action} eq 'fork' && $_->{reason} =~ /MinSpareThreads/ } @{ $d->{regulation}{decisions} };
}, scale(10));
ok($forked, 'the burst made the control process fork (seen in ?json)');
my $polls_then = body_attribute('data-polls') // 0;
my $polled = wait_for(sub { (body_attribute('data-polls') // 0) >= $polls_then + 3 }, scale(15));
ok($polled, sprintf('and the page polled on (%d polls in %.1f s)', body_attribute('data-polls') // 0,
    time - $started));
my $dom = run_js('return document.documentElement.outerHTML;') // '';
for my $chart (qw(chart-rps chart-threads chart-children)) {
    cmp_ok(attribute($dom, $chart, 'data-samples') // 0, '>=', 3, "$chart has data points");
}
cmp_ok(attribute($dom, 'rps-line', 'data-points') // 0, '>=', 3, 'the requests/s line is drawn');
cmp_ok(attribute($dom, 'busy-line', 'data-points') // 0, '>=', 3, 'the busy thread line is drawn');
cmp_ok(attribute($dom, 'idle-line', 'data-points') // 0, '>=', 3, 'the idle thread line is drawn');
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

# The burst ends; a second later the surplus retires, and the page shows it.
$load->finish;
my $retired = wait_for(sub { (run_js("return document.getElementById('chart-children').getAttribute('data-retires');") // 0) >= 1 },
    scale(20));
ok($retired, 'after the burst: a retire mark');
is(body_attribute('data-errors'), undef, 'no error caught by the page (script errors, CSP violations)');
my @console = console_problems();
is_deeply(\@console, [], 'nothing at warning level or above on the browser console');

my $png = MIME::Base64::decode_base64(webdriver('GET', "/session/$id/screenshot") // '');
ok(substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" && length $png > 10000, 'a screenshot (PNG, ' . length($png) . ' bytes)');
if ($ENV{WEFT_SCREENSHOT} && length $png) {
    if (open my $fh, '>:raw', $ENV{WEFT_SCREENSHOT}) { print $fh $png; close $fh }
    else { diag("$ENV{WEFT_SCREENSHOT}: $!") }
}

# ---------------------------------------------------------------- phone, dark
cdp('Emulation.setDeviceMetricsOverride', { width => 390, height => 844, deviceScaleFactor => 2, mobile => JSON::PP::true });
cdp('Emulation.setEmulatedMedia', { features => [ { name => 'prefers-color-scheme', value => 'dark' } ] });
open_page("$base/server-status?live");
ok(wait_for(sub { (body_attribute('data-polls') // 0) >= 1 }, scale(10)), 'a phone in dark mode: the page polls');
is(body_attribute('data-scheme'), 'dark', 'the dark scheme applies');
like(run_js('return getComputedStyle(document.body).backgroundColor;') // '', qr/^rgb\((\d|[1-5]\d), /,
    'on a dark background');
is(body_attribute('data-fits'), 'true', 'nothing is wider than the 390 px screen');
is(run_js('return window.innerWidth;'), 390, '(the screen is 390 px wide)');
is_deeply([ console_problems() ], [], 'nothing on the console there either');

# ---------------------------------------------------------------- no JavaScript
cdp('Emulation.clearDeviceMetricsOverride');
cdp('Emulation.setScriptExecutionDisabled', { value => JSON::PP::true });
open_page("$base/server-status?live");
my $url = '';
ok(wait_for(sub { $url = webdriver('GET', "/session/$id/url") // ''; $url =~ /\?refresh=5$/ }, scale(10)),
    "scripts off: the <noscript> refresh leads to the plain page ($url)");
my $plain = $w->get('/server-status?refresh=5');
like($plain->{body} // '', qr/Weft Server Status for/, 'which is the status page');
is($plain->header('refresh'), 5, 'refreshing itself every 5 s');

close_browser();
$w->stop;
done_testing;

# The browser goes with its session; chromedriver is ours, stopped by its pid.
sub close_browser {
    webdriver('DELETE', "/session/$id", undef, 10) if $id;
    $id = undef;
    if ($driver_pid) {
        kill 'TERM', $driver_pid;
        waitpid($driver_pid, 0);
        $driver_pid = undef;
    }
}
END { close_browser() if $$ == $owner }
