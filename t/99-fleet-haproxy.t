#!/usr/bin/perl
# The fleet test (docs/fleet.md, issue 18): Debian's HAProxy on loopback in
# front of two weft instances, with health checks against the health-check
# handler (inter 200ms, fall 1, rise 2) and the PROXY protocol v2
# (send-proxy-v2, RemoteIPProxyProtocol On).  wrk runs through HAProxy for
# 30 s while, in turn, instance A gets a graceful restart, instance B a
# binary upgrade, and instance A a graceful-stop (with DrainDelay) and a
# start.  Asserted: wrk saw 0 non-2xx/3xx responses and 0 socket errors,
# and every access-log line of wrk's requests carries the client's address
# (127.0.0.1, where wrk connects from) as %a and HAProxy's only as %{c}a
# (its server lines bind their outgoing connections to 127.0.0.2 with
# `source`; HAProxy's health
# checks, sent with a PROXY v2 LOCAL header, are logged with 127.0.0.2,
# which shows that the source address is in effect).  HAProxy runs with
# retries 0, so no failure is hidden by a retry.  A build without
# RemoteIPProxyProtocol still runs the test, without send-proxy-v2, and then
# expects 127.0.0.2 everywhere (said in a diag).
#
# haproxy and wrk are installed with apt-get when missing and we are root;
# otherwise the test fails (it never skips).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(_exit WNOHANG);
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale free_port);

sub have { my ($tool) = @_; return scalar grep { -x "$_/$tool" } split /:/, "$ENV{PATH}:/usr/sbin:/sbin" }
for my $tool (qw(haproxy wrk)) {
    next if have($tool);
    if ($> == 0) {
        diag("$tool is missing: installing it with apt-get");
        system("DEBIAN_FRONTEND=noninteractive apt-get install -y $tool >/dev/null 2>&1");
    }
    BAIL_OUT("$tool is required (apt-get install $tool) and could not be installed") unless have($tool);
}
my ($HAPROXY) = grep { -x } map { "$_/haproxy" } split /:/, "$ENV{PATH}:/usr/sbin:/sbin";

# The PROXY protocol comes with mod_remoteip (RemoteIPProxyProtocol).
my ($dcode, $directives) = WeftTest->run_weft('-D', 'DUMP_DIRECTIVES');
my $PROXY = $directives =~ /RemoteIPProxyProtocol/ ? 1 : 0;
diag('this build has no RemoteIPProxyProtocol: HAProxy forwards without send-proxy-v2, and the access '
    . 'log is checked for HAProxy\'s address (127.0.0.2) instead of the client\'s') unless $PROXY;

my $DURATION = 30;
my $CONF = <<"EOF";
StartServers 2
ThreadsPerChild 8
MinSpareThreads 4
MaxSpareThreads 32
MaxClients 32
KeepAliveTimeout 30
DrainDelay 2
GracefulShutdownTimeout 20
LogFormat "%a %{c}a %r %>s" fleet
CustomLog logs/access_log fleet
<Location /healthz>
    SetHandler health-check
</Location>
EOF
$CONF .= "RemoteIPProxyProtocol On\n" if $PROXY;

my $a = WeftTest->new(conf => $CONF, files => { 'www/index.html' => "instance a\n" });
my $b = WeftTest->new(conf => $CONF, files => { 'www/index.html' => "instance b\n" });
$a->start;
$b->start(foreground => 0);

my $front = free_port();
my $hroot = $a->root;
my $proxy = $PROXY ? ' send-proxy-v2' : '';
my $hcfg = "$hroot/haproxy.cfg";
open my $fh, '>', $hcfg or BAIL_OUT("$hcfg: $!");
print {$fh} <<"EOF";
global
    maxconn 2000
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # No retries at all: a refused connection or a kept-alive connection
    # closed under a request shows up as an error, not hidden by a retry.
    retries 0

frontend fe
    bind 127.0.0.1:$front
    default_backend weft

backend weft
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 200ms fall 1 rise 2 source 127.0.0.2$proxy
    server a 127.0.0.1:@{[ $a->port ]} check
    server b 127.0.0.1:@{[ $b->port ]} check
EOF
close $fh;
my $hlog = "$hroot/haproxy.log";
my $hpid = fork;
BAIL_OUT("fork: $!") unless defined $hpid;
if ($hpid == 0) {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', $hlog or _exit(127);
    open STDERR, '>&', \*STDOUT or _exit(127);
    { no warnings 'exec'; exec $HAPROXY, '-db', '-f', $hcfg; }
    _exit(127);
}
END { if ($hpid) { kill 'TERM', $hpid; waitpid($hpid, 0) } }

sub hlog { WeftTest::_slurp($hlog) // '' }
sub front_get {
    my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $front, Timeout => 2) or return '';
    print {$s} "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    local $/;
    my $r = <$s> // '';
    return $r;
}
ok(wait_for(sub { WeftTest::_listening($front) }, scale(10)), 'HAProxy listens') or diag(hlog());
ok(wait_for(sub { front_get() =~ /instance a/ }, scale(10)) && wait_for(sub { front_get() =~ /instance b/ }, scale(10)),
    'HAProxy reaches both instances') or diag(hlog());

# ---------------------------------------------------------------- wrk for 30 s
my $wout = "$hroot/wrk.out";
my $wpid = fork;
BAIL_OUT("fork: $!") unless defined $wpid;
if ($wpid == 0) {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', $wout or _exit(127);
    open STDERR, '>&', \*STDOUT or _exit(127);
    { no warnings 'exec'; exec 'wrk', '-t2', '-c8', "-d${DURATION}s", '--timeout', '5s', "http://127.0.0.1:$front/index.html"; }
    _exit(127);
}
my $t0 = time;
sub at { my ($second) = @_; my $left = $t0 + $second - time; sleep $left if $left > 0 }

# 3 s: A, graceful restart.
at(3);
my ($code, $out, $err) = $a->ctl('graceful');
is($code, 0, 'A: graceful restart (-k graceful) under load') or diag("$out$err");

# 9 s: B, binary upgrade.
at(9);
my $b_old = $b->pid;
($code, $out, $err) = $b->ctl('upgrade');
is($code, 0, 'B: binary upgrade (-k upgrade) under load') or diag("$out$err");
ok(wait_for(sub { WeftTest::_pid_gone($b_old) }, scale(15)), 'B: the old control process is gone');
ok($b->adopt_pid_file && $b->pid != $b_old, 'B: the new control process owns the PidFile');

# 16 s: A, graceful-stop (DrainDelay 2: HAProxy sees 503 first), then a start.
at(16);
($code, $out, $err) = $a->ctl('graceful-stop');
is($code, 0, 'A: -k graceful-stop under load') or diag("$out$err");
ok(wait_for(sub { !$a->running }, scale(20)), 'A: stopped after draining');
$a->{pid} = undef;
ok(wait_for(sub { !WeftTest::_listening($a->port) }, scale(5)), 'A: its port is closed');
my $a_lines_before = () = ($a->access_log =~ /\n/g);
$a->start;
ok($a->running, 'A: started again');
ok(wait_for(sub { my $n = () = ($a->access_log =~ m{GET /index\.html}g); $n > $a_lines_before }, scale(8)),
    'A: HAProxy sends it requests again (rise 2)');

# ---------------------------------------------------------------- the verdict
my $wres = wait_for(sub { waitpid($wpid, WNOHANG) == $wpid }, $DURATION + scale(20));
ok($wres, 'wrk finished') or do { kill 'KILL', $wpid; waitpid($wpid, 0) };
my $w = WeftTest::_slurp($wout) // '';
diag("wrk:\n$w");
my ($requests) = $w =~ /(\d+) requests in/;
cmp_ok($requests // 0, '>', 1000, 'wrk ran through HAProxy (' . ($requests // 0) . ' requests in 30 s)');
my ($non2xx) = $w =~ /Non-2xx or 3xx responses:\s*(\d+)/;
is($non2xx // 0, 0, 'wrk: 0 non-2xx/3xx responses');
my ($se) = $w =~ /Socket errors:\s*([^\n]*)/;
is($se // 'none', 'none', 'wrk: 0 socket errors (connect, read, write, timeout)');

my @hlines = grep { /weft\// } split /\n/, hlog();
my @failed = grep { /\s(5\d\d|-1)\s/ && !m{/healthz} } @hlines;
is(scalar @failed, 0, 'HAProxy logged no 5xx or failed request') or diag(join "\n", @failed[0 .. ($#failed < 9 ? $#failed : 9)]);

# httplog's "actconn/feconn/beconn/srv_conn/retries" (after the termination
# state, e.g. "---- 8/8/7/3/0"): with retries 0 there must be none.
my @retried = grep { m{ [-A-Za-z]{4} \d+/\d+/\d+/\d+/\+?[1-9]\d* } } @hlines;
is(scalar @retried, 0, 'HAProxy retried no request (of ' . scalar(@hlines) . ' it logged)')
    or diag(join "\n", @retried[0 .. ($#retried < 4 ? $#retried : 4)]);

my @lines;
push @lines, grep { m{ GET /index\.html } } split /\n/, $_->access_log for $a, $b;
cmp_ok(scalar @lines, '>=', $requests // 1, 'the access logs hold every request wrk made (' . scalar(@lines) . ')');
# %a the client, %{c}a the peer that connected (HAProxy).
my $want = $PROXY ? '127.0.0.1 127.0.0.2' : '127.0.0.2 127.0.0.2';
my @other = grep { !/^\Q$want\E / } @lines;
is(scalar @other, 0, $PROXY ? "every access-log line carries the client's address (127.0.0.1) as %a, HAProxy's (127.0.0.2) as %{c}a"
    : "every access-log line carries HAProxy's address ($want): no PROXY protocol in this build")
    or diag(join "\n", @other[0 .. ($#other < 9 ? $#other : 9)]);

# The check above means something only if HAProxy's connections do come
# from 127.0.0.2: its health checks carry a PROXY v2 LOCAL header (no
# client), so their lines show the connection's own peer.
my @checks;
push @checks, grep { m{ GET /healthz } } split /\n/, $_->access_log for $a, $b;
cmp_ok(scalar @checks, '>', 10, 'HAProxy\'s health checks are logged (' . scalar(@checks) . ')');
my @not_haproxy = grep { !/^127\.0\.0\.2 127\.0\.0\.2 / } @checks;
is(scalar @not_haproxy, 0, 'they come from HAProxy\'s source address, 127.0.0.2')
    or diag(join "\n", @not_haproxy[0 .. ($#not_haproxy < 4 ? $#not_haproxy : 4)]);

$a->stop;
$b->stop;
kill 'TERM', $hpid;
waitpid($hpid, 0);
$hpid = 0;
done_testing;
