#!/usr/bin/perl
# CGI failures get the right status and a reason in the error log, and
# leave nothing behind: missing (404), not executable (403), not an
# executable format (500), no or malformed header block (500), silent past
# CGIScriptTimeout (504, the whole process group killed), silent after its
# head (the response is cut), a client that goes away mid-stream; then no
# zombie, no script and no extra descriptor in the child.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Select;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw read_response);
use WeftCgi;

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
CGIScriptTimeout 1
EOF
    files => { WeftCgi::scripts('cgi-bin'), 'cgi-bin/subdir/x' => "x\n" },
);
$w->start;
my $baseline = WeftCgi::baseline($w);
my $host = $w->host_header;
my $root = $w->root;

my @cases = (
    [ '/cgi-bin/missing.cgi', 404, qr/script not found or unable to stat: \S+missing\.cgi/, 'a missing script' ],
    [ '/cgi-bin/missing.cgi/with/path', 404, qr/missing\.cgi/, 'a missing script with PATH_INFO' ],
    [ '/cgi-bin/noexec.cgi', 403, qr/exec of '\S+noexec\.cgi' failed: Permission denied/, 'a script without x permission' ],
    [ '/cgi-bin/noshebang.cgi', 500, qr/exec of '\S+noshebang\.cgi' failed: Exec format error/, 'a file that is not executable code' ],
    [ '/cgi-bin/empty.cgi', 500, qr/End of script output before headers: \S+empty\.cgi/, 'a script without output' ],
    [ '/cgi-bin/noheader.cgi', 500, qr/Premature end of script headers: \S+noheader\.cgi/, 'output without a header block' ],
    [ '/cgi-bin/badheader.cgi', 500, qr/malformed header from script: \S+badheader\.cgi: Bad header: Bad Header Line/, 'a malformed header line' ],
    [ '/cgi-bin/', 403, qr/attempt to invoke directory as script/, 'the ScriptAlias directory itself' ],
    [ '/cgi-bin/subdir/', 403, qr/attempt to invoke directory as script: \S+subdir/, 'a directory below it' ],
    [ '/cgi-bin/subdir/nothing/more', 404, qr/subdir\/nothing/, 'a path through a directory to nothing' ],
);
for my $case (@cases) {
    my ($path, $status, $log, $label) = @$case;
    my $r = $w->get($path);
    is($r->{status}, $status, "$label: $status") or diag($r->summary);
    ok($w->wait_error_log($log, scale(3)), "$label: the reason is logged") or diag(substr($w->error_log, -600));
}

# ---------------------------------------------------------------- silent past CGIScriptTimeout
{
    my $sock = $w->connect;
    my $t0 = time;
    send_raw($sock, "GET /cgi-bin/slow.cgi HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n");
    my $script;
    wait_for(sub {
        my $s = WeftCgi::child_snapshot($w);
        ($script) = grep { $_->{state} ne 'Z' } @{ $s->{kids} || [] };
        return $script;
    }, scale(3), 0.02);
    ok($script, 'the silent script runs');
    my $r = read_response($sock, timeout => scale(10));
    my $took = time - $t0;
    is($r->{status}, 504, 'silent past CGIScriptTimeout: 504');
    cmp_ok($took, '>=', 0.9, sprintf('... not before the timeout (%.2f s)', $took));
    cmp_ok($took, '<', scale(4), '... nor long after it');
    ok($w->wait_error_log(qr/Timeout waiting for output from CGI script: \S+slow\.cgi/), '... logged');
    my $group = $script ? $script->{pid} : -1;
    my $left = wait_for(sub {
        opendir my $dh, '/proc' or return 1;
        my @members = grep {
            /^\d+$/ && do { my $st = WeftCgi::_slurp("/proc/$_/stat") // ''; $st =~ /^\d+ \(.*\) ([^Z]) -?\d+ (\d+)/s && $2 == $group }
        } readdir $dh;
        return !@members;
    }, scale(5));
    ok($left, '... and its whole process group is dead (the background job too)');
}

# ---------------------------------------------------------------- silent after its head
{
    my $r = $w->get('/cgi-bin/partial.cgi');
    like($r->{error} // '', qr/cut short/, 'silent after the head: the chunked response is cut, not completed')
        or diag($r->summary);
    like($r->{raw} // '', qr{^HTTP/1\.1 200 }, '... after a 200 head');
}

# ---------------------------------------------------------------- the client goes away mid-stream
{
    my $sock = $w->connect(rcvbuf => 16384);
    send_raw($sock, "GET /cgi-bin/big.cgi?50 HTTP/1.1\r\nHost: $host\r\n\r\n");
    my $sel = IO::Select->new($sock);
    my $got = '';
    sysread($sock, $got, 65536) if $sel->can_read(scale(5));
    like($got, qr{^HTTP/1\.1 200 }, 'a big stream starts');
    close $sock;
    ok(wait_for(sub { $w->access_log =~ m{"GET /cgi-bin/big\.cgi\?50 HTTP/1\.1" 200 \d+\n} }, scale(10)),
        'the aborted stream is logged once it ends');
}

WeftCgi::check_clean($w, $baseline, 'after the failures');

# ---------------------------------------------------------------- it still works
my $r = $w->get('/cgi-bin/length.cgi');
is($r->{body}, "hello\n", 'scripts still run afterwards');
$w->stop;

# ---------------------------------------------------------------- never as root
SKIP: {
    skip 'not running as root', 2 unless $> == 0;
    my $x = WeftTest->new(conf => "ScriptAlias /cgi-bin/ \"\@ROOT\@/cgi-bin/\"\n",
        files => { WeftCgi::scripts('cgi-bin') });
    $x->start(x => 1);    # -X started as root keeps root privileges
    my $r2 = $x->get('/cgi-bin/length.cgi');
    is($r2->{status}, 500, 'weft -X as root refuses to run a script: 500');
    ok($x->wait_error_log(qr/refusing to run a CGI script as root/), '... and says why');
    $x->stop(name => 'weft -X');
}
done_testing;
