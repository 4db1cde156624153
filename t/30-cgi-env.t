#!/usr/bin/perl
# CGI: the meta-variables of RFC 3875 (as Apache 2.4 sets them), the clean
# environment, SetEnv/PassEnv/UnsetEnv, the command line of an indexed
# query, and what the script process is given (descriptors, signals,
# process group, working directory, uid).  ScriptAlias, AddHandler and
# SetHandler select scripts; Options ExecCGI gates the last two.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);
use WeftCgi;

my %scripts = WeftCgi::scripts('cgi-bin');
my $env_script = { content => $scripts{'cgi-bin/env.cgi'}{content}, mode => 0755 };
$ENV{WEFT_CGI_SECRET} = 'must-not-leak';
$ENV{WEFT_CGI_PASSED} = 'passed-through';

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
ScriptAliasMatch ^/matched/([a-z]+)/(.*)$ "@ROOT@/cgi-bin/$1.cgi/$2"
PassEnv WEFT_CGI_PASSED WEFT_CGI_NOT_SET
SetEnv WEFT_SET "set value"
SetEnv WEFT_UNSET_LATER x
SetEnv HTTP_X_OVERRIDE configured
SetEnv SERVER_NAME not-this-one
<Directory "@ROOT@/cgi-bin">
    UnsetEnv WEFT_UNSET_LATER
</Directory>
<Directory "@ROOT@/www/scripts">
    Options +ExecCGI
    AddHandler cgi-script .cgi
</Directory>
<Directory "@ROOT@/www/noexec">
    AddHandler cgi-script .cgi
</Directory>
<Directory "@ROOT@/www/handled">
    Options +ExecCGI
    SetHandler cgi-script
</Directory>
EOF
    files => {
        %scripts,
        'www/scripts/env.cgi' => $env_script,
        'www/scripts/plain.txt' => "plain\n",
        'www/noexec/env.cgi' => $env_script,
        'www/handled/anything' => $env_script,
    },
);
$w->start;
my $root = $w->root;
my $port = $w->port;

my $baseline = WeftCgi::baseline($w);
ok($baseline, 'one child to watch');

sub env_request {
    my ($raw, $label) = @_;
    my ($r, $sock) = $w->request($raw, keep => 1);
    is($r->{status}, 200, "$label: 200") or diag($r->summary);
    return ($r, $sock, WeftCgi::parse_env($r->{body}));
}

# ---------------------------------------------------------------- GET with a query and PATH_INFO
my ($r, $sock, %e) = env_request("GET /cgi-bin/env.cgi/extra/p%20ath?a=1&b=%41 HTTP/1.1\r\nHost: Example.COM:8123\r\n"
    . "User-Agent: weft-test\r\nAccept: */*\r\nX-Repeated: one\r\nX-Repeated: two\r\nProxy: http://evil:1/\r\n"
    . "Authorization: Basic dTpw\r\nX_Under: collide\r\nX-Override: from-client\r\nConnection: close\r\n\r\n",
    'env.cgi with PATH_INFO and a query');
like($r->{headers}{'content-type'} // '', qr{^text/plain}, 'the script\'s Content-Type');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'no length from the script: chunked');
my %expect = (
    GATEWAY_INTERFACE => 'CGI/1.1',
    SERVER_PROTOCOL => 'HTTP/1.1',
    REQUEST_METHOD => 'GET',
    QUERY_STRING => 'a=1&b=%41',
    REQUEST_URI => '/cgi-bin/env.cgi/extra/p%20ath?a=1&b=%41',
    SCRIPT_NAME => '/cgi-bin/env.cgi',
    SCRIPT_FILENAME => "$root/cgi-bin/env.cgi",
    PATH_INFO => '/extra/p ath',
    PATH_TRANSLATED => "$root/www/extra/p ath",
    DOCUMENT_ROOT => "$root/www",
    SERVER_NAME => 'example.com',
    SERVER_PORT => '8123',
    SERVER_ADDR => '127.0.0.1',
    REMOTE_ADDR => '127.0.0.1',
    REMOTE_PORT => $sock->sockport,
    REQUEST_SCHEME => 'http',
    CONTEXT_PREFIX => '/cgi-bin/',
    CONTEXT_DOCUMENT_ROOT => "$root/cgi-bin/",
    HTTP_HOST => 'Example.COM:8123',
    HTTP_USER_AGENT => 'weft-test',
    HTTP_ACCEPT => '*/*',
    HTTP_X_REPEATED => 'one, two',
    HTTP_CONNECTION => 'close',
    PATH => '/usr/local/bin:/usr/bin:/bin',
    WEFT_SET => 'set value',
    WEFT_CGI_PASSED => 'passed-through',
    HTTP_X_OVERRIDE => 'configured',
    SERVER_SIGNATURE => '',
);
for my $name (sort keys %expect) {
    is($e{$name}, $expect{$name}, "$name");
}
like($e{SERVER_SOFTWARE} // '', qr{^weft/\d+\.\d+\.\d+}, 'SERVER_SOFTWARE is the Server header');
for my $absent (qw(HTTP_PROXY HTTP_AUTHORIZATION HTTP_X_UNDER CONTENT_LENGTH CONTENT_TYPE AUTH_TYPE REMOTE_USER
                   HTTPS WEFT_CGI_SECRET WEFT_CGI_NOT_SET WEFT_UNSET_LATER REDIRECT_STATUS)) {
    ok(!exists $e{$absent}, "no $absent") or diag("$absent=$e{$absent}");
}
my @unexpected = grep { !/^(HTTP_|X-)/ && !exists $expect{$_} && $_ ne 'SERVER_SOFTWARE' } sort keys %e;
is("@unexpected", '', 'nothing else in the environment');
is($e{'X-ARGC'}, 0, 'a query with "=" gives no arguments');
is($e{'X-CWD'}, "$root/cgi-bin", 'the working directory is the script\'s');
is($e{'X-FDS'}, '0,1,2', 'the script has stdin, stdout and stderr, nothing else');
is($e{'X-PGID'}, $e{'X-PID'}, 'the script leads its own process group');
like($e{'X-SIGBLK'} // '', qr/^0+$/, 'no signal blocked in the script');
is($e{'X-SIGPIPE'} // '', '', 'SIGPIPE has its default disposition');
close $sock;

# ---------------------------------------------------------------- indexed query: arguments
(undef, undef, %e) = env_request($w->build_request('GET', '/cgi-bin/env.cgi?one+tw%6F+th%20ree+a;b'), 'indexed query');
is($e{'X-ARGC'}, 4, 'an indexed query becomes four arguments');
is(join('|', map { $e{"X-ARG$_"} } 0 .. 3), 'one|two|th ree|a\\;b', '... decoded, shell characters escaped');

# ---------------------------------------------------------------- POST: CONTENT_LENGTH and CONTENT_TYPE
(undef, undef, %e) = env_request("POST /cgi-bin/env.cgi HTTP/1.1\r\nHost: h\r\nContent-Type: text/x-test; charset=utf-8\r\n"
    . "Content-Length: 11\r\nConnection: close\r\n\r\nhello world", 'POST');
is($e{REQUEST_METHOD}, 'POST', 'REQUEST_METHOD POST');
is($e{CONTENT_LENGTH}, 11, 'CONTENT_LENGTH');
is($e{CONTENT_TYPE}, 'text/x-test; charset=utf-8', 'CONTENT_TYPE');
ok(!exists $e{HTTP_CONTENT_LENGTH} && !exists $e{HTTP_CONTENT_TYPE}, 'not repeated as HTTP_*');
is($e{'X-STDIN-LENGTH'}, 11, 'the body on stdin');
is($e{QUERY_STRING}, '', 'QUERY_STRING is empty, not missing');
ok(!exists $e{PATH_INFO} && !exists $e{PATH_TRANSLATED}, 'no PATH_INFO, no PATH_TRANSLATED');

(undef, undef, %e) = env_request("POST /cgi-bin/env.cgi HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 'chunked POST');
ok(!exists $e{CONTENT_LENGTH}, 'a chunked body has no CONTENT_LENGTH (as in Apache: the script reads to EOF)');
is($e{HTTP_TRANSFER_ENCODING}, 'chunked', 'HTTP_TRANSFER_ENCODING says so');
is($e{'X-STDIN-LENGTH'}, 11, 'the decoded body on stdin');

# ---------------------------------------------------------------- HTTP/1.0, no Host
(undef, undef, %e) = env_request("GET /cgi-bin/env.cgi HTTP/1.0\r\n\r\n", 'HTTP/1.0 without Host');
is($e{SERVER_PROTOCOL}, 'HTTP/1.0', 'SERVER_PROTOCOL HTTP/1.0');
# As Apache's ap_get_server_port (UseCanonicalPhysicalPort Off): the Host's
# port, else ServerName's, else the scheme's default, never the connection's.
is($e{SERVER_PORT}, 80, 'without Host, SERVER_PORT is ServerName\'s port, else 80 (as Apache)');
ok(!exists $e{HTTP_HOST}, 'no HTTP_HOST');

# ---------------------------------------------------------------- ScriptAliasMatch
(undef, undef, %e) = env_request($w->build_request('GET', '/matched/env/deeper/path'), 'ScriptAliasMatch');
is($e{SCRIPT_FILENAME}, "$root/cgi-bin/env.cgi", 'the substituted path names the script');
is($e{PATH_INFO}, '/deeper/path', 'and the rest is PATH_INFO');
is($e{SCRIPT_NAME}, '/matched/env', 'SCRIPT_NAME is the URL-path without PATH_INFO');

# ---------------------------------------------------------------- AddHandler + ExecCGI, SetHandler
(undef, undef, %e) = env_request($w->build_request('GET', '/scripts/env.cgi/x'), 'AddHandler cgi-script .cgi');
is($e{SCRIPT_NAME}, '/scripts/env.cgi', 'SCRIPT_NAME under DocumentRoot');
is($e{PATH_INFO}, '/x', 'PATH_INFO');
is($e{CONTEXT_PREFIX}, '', 'CONTEXT_PREFIX is empty outside a ScriptAlias');
is($e{WEFT_UNSET_LATER}, 'x', 'SetEnv applies where UnsetEnv does not');
$r = $w->get('/scripts/plain.txt');
is($r->{body}, "plain\n", 'other extensions stay static files');
(undef, undef, %e) = env_request($w->build_request('GET', '/handled/anything'), 'SetHandler cgi-script');
is($e{SCRIPT_NAME}, '/handled/anything', 'any file is a script under SetHandler cgi-script');
$r = $w->get('/noexec/env.cgi');
is($r->{status}, 403, 'AddHandler without Options ExecCGI is 403');
like($w->error_log, qr/\[cgi:error\].*Options ExecCGI is off in this directory: \S*noexec\/env\.cgi/,
    '... and the reason is logged');

# ---------------------------------------------------------------- privileges
SKIP: {
    skip 'not running as root', 2 unless $> == 0;
    my $nobody = getpwnam('nobody');
    (undef, undef, %e) = env_request($w->build_request('GET', '/cgi-bin/env.cgi'), 'as root');
    is($e{'X-UID'}, $nobody, 'the script runs as User (nobody), real uid');
    is($e{'X-EUID'}, $nobody, '... and effective uid');
}

WeftCgi::check_clean($w, $baseline, 'after the environment checks');
$w->stop;

# ---------------------------------------------------------------- configuration errors
{
    my $bad = WeftTest->new(conf => "ScriptAliasMatch ^/(unclosed /tmp/x\nAddHandler cgi-script tar.gz\n"
        . "CGIScriptTimeout soon\n");
    my ($code, $out, $err) = $bad->check_config;
    is($code, 1, 'weft -t refuses bad CGI directives');
    like($out . $err, qr/weft\.conf:1: Regular expression '\^\/\(unclosed' could not be compiled: missing closing parenthesis at offset 11/, '... a bad regex, with its line');
    like($out . $err, qr/weft\.conf:2: AddHandler: 'tar\.gz'/, '... a two-part extension');
    like($out . $err, qr/weft\.conf:3: .*CGIScriptTimeout/, '... a timeout that is not a number');
}
done_testing;
