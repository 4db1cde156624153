#!/usr/bin/perl
# Apache configuration syntax: comments, quoting and escapes, continuation
# lines, case-insensitive names, Include / IncludeOptional with globs,
# <IfModule>, <Directory> and <Location> sections, several Listen forms.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);
use IO::Socket::IP;

my $have_ipv6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1) ? 1 : 0;

my %files = (
    'www/index.html'               => "root index\n",
    'www/start.html'               => "start page\n",
    'www/file.foo'                 => "foo\n",
    'www/file.aa'                  => "aa\n",
    'www/file.bb'                  => "bb\n",
    'www/file.cc'                  => "cc\n",
    'www/file.mm'                  => "mm\n",
    'www/file.st'                  => "st\n",
    'www/file.qq'                  => "qq\n",
    'www/noindex/index.html'       => "should not be the index\n",
    'www/noindex/other.html'       => "other index\n",
    'www/loc/index.html'           => "should not be the index\n",
    'www/loc/loc.html'             => "location index\n",
    'www/quoted/first"q.html'      => "quoted index\n",
    'www with space/index.html'    => "spaced root\n",
    'conf/extra/a.conf'            => "AddType text/x-from-a .aa\n",
    'conf/extra/b.conf'            => "AddType text/x-from-b .bb\n",
    'conf/extra/c.txt'             => "NoSuchDirective in a file the glob does not match\n",
    'conf/single.conf'             => "AddType text/x-single .cc\n",
);

my $conf = <<'EOF';
# A comment at the top.
   # An indented comment.

Listen 127.0.0.1:@PORT@
Listen 127.0.0.1:@PORT2@
Listen @PORT4@
@IPV6LISTEN@
documentroot "@ROOT@/www"
DIRECTORYINDEX \
    nothere.html \
    start.html
addtype text/x-foo .foo
AddType "text/x-quoted" .qq
Include conf/extra/*.conf
Include "@ROOT@/conf/single.conf"
IncludeOptional conf/optional/*.conf
IncludeOptional conf/missing-file.conf

<IfModule mod_nonexistent.c>
    NoSuchDirective inside a false IfModule
</IfModule>
<IfModule !mod_nonexistent.c>
    AddType text/x-not-module .mm
</IfModule>
<IfModule mod_status.c>
    AddType text/x-status-present .st
</IfModule>

<Directory "@ROOT@/www/noindex">
    DirectoryIndex other.html
</Directory>
<Directory "@ROOT@/www/quoted">
    DirectoryIndex "first\"q.html"
</Directory>
<location /loc>
    DirectoryIndex loc.html
</location>
EOF
$conf =~ s/\@IPV6LISTEN\@/$have_ipv6 ? 'Listen [::1]:@PORT3@' : ''/e;

my $w = WeftTest->new(conf => $conf, files => \%files);
my ($code, $out, $err) = $w->check_config;
is($code, 0, 'the configuration with comments, continuation, includes and sections passes -t')
    or diag($out . $err);
$w->start;

sub type_of {
    my ($path) = @_;
    my $r = $w->get($path);
    return $r->{status} == 200 ? ($r->{headers}{'content-type'} // '(none)') : "status $r->{status}"
        if defined $r->{status};
    return $r->summary;
}

my $r = $w->get('/');
is($r->{body}, "start page\n", 'a backslash continuation joins DIRECTORYINDEX arguments (first existing wins)')
    or diag($r->summary);
like(type_of('/file.foo'), qr{^text/x-foo\b}, 'lower-case directive names work (addtype)');
like(type_of('/file.qq'), qr{^text/x-quoted\b}, 'double-quoted arguments work');
like(type_of('/file.aa'), qr{^text/x-from-a\b}, 'Include with a glob includes the first match');
like(type_of('/file.bb'), qr{^text/x-from-b\b}, 'Include with a glob includes every match');
like(type_of('/file.cc'), qr{^text/x-single\b}, 'Include of an absolute file path (quoted)');
like(type_of('/file.mm'), qr{^text/x-not-module\b}, '<IfModule !missing> applies its contents');
like(type_of('/file.st'), qr{^text/x-status-present\b}, '<IfModule mod_status.c> is true: weft has a status module');

$r = $w->get('/noindex/');
is($r->{body}, "other index\n", '<Directory> changes DirectoryIndex below its path') or diag($r->summary);
$r = $w->get('/loc/');
is($r->{body}, "location index\n", '<Location> (lower-case tag) changes DirectoryIndex below its URL')
    or diag($r->summary);
$r = $w->get('/quoted/');
is($r->{body}, "quoted index\n", 'a backslash-escaped quote inside a quoted argument') or diag($r->summary);

$r = $w->request("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", port => $w->port2);
is($r->{body}, "start page\n", 'a second Listen address:port serves too') or diag($r->summary);
$r = $w->request("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", port => $w->port_n(4));
is($r->{body}, "start page\n", 'Listen with a port only (every address) serves on 127.0.0.1') or diag($r->summary);
SKIP: {
    # Visible in prove's normal output (diag goes to standard error), not only in -v.
    my $why = 'no IPv6 loopback (::1) on this machine: Listen [::1] is not checked';
    diag("SKIP: $why"), skip($why, 1) unless $have_ipv6;
    $r = $w->request("GET / HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n", host => '::1',
        port => $w->port_n(3));
    is($r->{body}, "start page\n", 'Listen [::1]:port serves over IPv6') or diag($r->summary);
}
$w->stop;

# ---------------------------------------------------------------- quoting with spaces
{
    my $v = WeftTest->new(conf => <<'EOF', files => \%files);
DocumentRoot "@ROOT@/www with space"
EOF
    $v->start;
    my $r2 = $v->get('/');
    is($r2->{body}, "spaced root\n", 'a quoted path with a space') or diag($r2->summary);
    $v->stop(name => 'spaced DocumentRoot server');
}

# ---------------------------------------------------------------- include errors, checked with -t
{
    my $v = WeftTest->new(conf => "Include conf/nothing/*.conf\n", files => { 'www/index.html' => "x\n" });
    my ($c, $o, $e) = $v->check_config;
    is($c, 1, 'Include with a wildcard that matches nothing is an error (as in Apache)');
    like($o . $e, qr/weft\.conf:1:/, '... reported at the Include line');

    $v->write_conf("Include conf/missing.conf\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'Include of a missing file is an error');

    $v->write_conf("IncludeOptional conf/missing.conf\nIncludeOptional conf/nothing/*.conf\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 0, 'IncludeOptional of a missing file or an empty glob is fine') or diag($o . $e);

    $v->write_file('conf/bad.conf', "# comment\nAddType text/plain .x\nNoSuchDirective\n");
    $v->write_conf("Include conf/bad.conf\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'an error inside an included file fails -t');
    like($o . $e, qr{bad\.conf:3:.*NoSuchDirective}, '... reported with the included file name and its line');

    $v->write_file('conf/loop.conf', "Include conf/loop.conf\n");
    $v->write_conf("Include conf/loop.conf\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'a file that includes itself is an error, not an endless loop');

    $v->write_conf("KeepAlive \"On\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'an unterminated quote is an error');

    $v->write_conf("keepalive off\nKEEPALIVE ON\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 0, 'On/Off values are case-insensitive') or diag($o . $e);

    $v->write_conf("Listen 127.0.0.1:\@PORT\@\nListen 127.0.0.1:\@PORT\@\n", bare => 1);
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'the same Listen twice is an error (as in Apache)');

    $v->write_conf("Listen 127.0.0.1:99999\n", bare => 1);
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'Listen with a port above 65535 is an error');

    $v->write_conf("ServerRoot \"\@ROOT\@\"\nTimeout 30\nKeepAliveTimeout 500ms\nMaxKeepAliveRequests 0\n"
        . "LimitRequestLine 4000\nLimitRequestFieldSize 4000\nLimitRequestFields 50\nLimitRequestBody 1000\n"
        . "ServerTokens Prod\nLogLevel info\nTypesConfig /etc/mime.types\nOptions -Indexes +FollowSymLinks\n"
        . "ListenBacklog 128\nSendBufferSize 65536\nReceiveBufferSize 65536\nGracefulShutdownTimeout 5\n"
        . "MaxRequestsPerChild 0\nMaxConnectionsPerChild 0\nServerLimit 16\nThreadLimit 64\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 0, 'the directives of the Foundation and MPM issues are accepted') or diag($o . $e);

    $v->write_conf("Options Indexes +FollowSymLinks\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'Options mixing +/- and plain options is an error (as in Apache)');

    $v->write_conf("LockFile logs/accept.lock\nAcceptMutex default\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 0, 'LockFile and AcceptMutex are accepted (and ignored)') or diag($o . $e);
    like($o . $e, qr/weft\.conf:1:.*LockFile.*not need/i, 'LockFile: a note says weft does not need it');
    like($o . $e, qr/weft\.conf:2:.*AcceptMutex.*not need/i, 'AcceptMutex: a note says weft does not need it');

    # ConnectionsPerThread has a maximum (1024), so that ThreadsPerChild x
    # ConnectionsPerThread, a child's connection table, cannot overflow.
    $v->write_conf("ThreadsPerChild 64\nConnectionsPerThread 1024\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 0, 'ConnectionsPerThread 1024, its maximum, is accepted') or diag($o . $e);
    $v->write_conf("ThreadsPerChild 64\n# the next line is too much\nConnectionsPerThread 1025\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'ConnectionsPerThread 1025 is a configuration error');
    like($o . $e, qr/weft\.conf:3: ConnectionsPerThread 1025 exceeds the maximum of 1024/,
         '... reported with its file and line');
    $v->write_conf("ConnectionsPerThread 4294967297\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 1, 'a ConnectionsPerThread beyond an int is an error, not a wrapped value');
    like($o . $e, qr/weft\.conf:1: ConnectionsPerThread requires a non-negative integer/, '... with its line');
    $v->write_conf("ServerLimit 20000\nThreadLimit 20000\nThreadsPerChild 20000\nMaxClients 20000\n"
        . "ConnectionsPerThread 1024\nMinSpareThreads 1\nMaxSpareThreads 20002\n");
    ($c, $o, $e) = $v->check_config;
    is($c, 0, 'the largest limits together pass -t') or diag($o . $e);
    like($o, qr/^capacity: 20000 processes x 20000 threads = 400000000 simultaneous clients$/m,
         '... and the capacity line shows the exact product');
}

done_testing;
