#!/usr/bin/perl
# Apache's expression language where configurations use it: <If>, <ElseIf>
# and <Else> (at top level, in a <VirtualHost>, in <Directory> and
# <Location>, nested), Header ... expr=, Require expr; written as Apache's
# documentation writes them.  Bad expressions fail at -t with file:line and
# the offset in the expression.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftApache qw(apache_missing start_apache stop_apache);
use WeftTest;
use IO::Socket::IP;
use POSIX ();

my $w = WeftTest->new(
    conf => <<'EOF',
Listen 127.0.0.1:@PORT@
Listen 127.0.0.1:@PORT2@

<If "%{HTTP_HOST} == 'example.com'">
    Header set X-Host "example"
</If>

<If "%{QUERY_STRING} =~ /^a=(\d+)$/">
    Header set X-Chain "if"
</If>
<ElseIf "%{QUERY_STRING} in { 'b', 'c' }">
    Header set X-Chain "elseif"
</ElseIf>
<Else>
    Header set X-Chain "else"
</Else>

<IfDefine !NEVER_DEFINED>
    <If "%{QUERY_STRING} == 'cond'">
        Header set X-Scope "if"
    </If>
</IfDefine>
<Else>
    Header set X-Scope "else"
</Else>

<If "-R '127.0.0.0/8'">
    Header set X-Loopback "yes"
</If>
<If "%{REMOTE_ADDR} -ipmatch '10.0.0.0/8' || %{REMOTE_ADDR} -ipmatch '::1'">
    Header set X-Ten "yes"
</If>

<If "%{HTTP_USER_AGENT} =~ /curl/i">
    ErrorDocument 404 "curl not found"
    <If "%{REQUEST_METHOD} == 'GET' && -n %{HTTP:X-Nested}">
        Header always set X-Nested "inner"
    </If>
</If>

Header always set X-Admin "1" "expr=%{REQUEST_URI} =~ m#^/admin#"
Header set X-Not-Admin "1" "expr=! (%{REQUEST_URI} =~ m#^/admin#)"

<Directory "@ROOT@/www/private">
    <If "%{HTTP:X-Token} != 'secret'">
        Require all denied
    </If>
</Directory>

<Location "/guarded">
    Require expr "%{QUERY_STRING} == 'key=1'"
</Location>
<Location "/either">
    <RequireAny>
        Require expr "%{HTTP:X-Pass} -eq 42"
        Require ip 192.0.2.0/24
    </RequireAny>
</Location>

<Location "/notexpr">
    <RequireAll>
        Require all granted
        Require not expr "%{QUERY_STRING} == 'block'"
    </RequireAll>
</Location>

<Location "/order">
    ErrorDocument 404 "location"
</Location>
<Directory "@ROOT@/www/order">
    <If "true">
        ErrorDocument 404 "if in directory"
    </If>
</Directory>

<If "!-f %{REQUEST_FILENAME} && %{REQUEST_URI} =~ m#^/app/#">
    ErrorDocument 404 "no such file in the app"
</If>

<Location "/expr-error">
    ErrorDocument 404 "Not here: %{REQUEST_URI} %{tolower:ABC}"
</Location>

<VirtualHost *:@PORT2@>
    ServerName vhost.example
    <If "%{SERVER_NAME} == 'vhost.example' && %{SERVER_PORT} -eq 8000">
        Header set X-Vhost "port2"
    </If>
</VirtualHost>
EOF
    files => {
        'www/index.html' => "index\n",
        'www/private/a.txt' => "private\n",
        'www/other.txt' => "other\n",
        'www/guarded' => "guarded\n",
        'www/either' => "either\n",
        'www/notexpr' => "notexpr\n",
        'www/app/real.txt' => "real\n",
    },
);
$w->start;

sub fetch {
    my ($path, %headers) = @_;
    my $port = delete $headers{port};
    my $raw = "GET $path HTTP/1.1\r\n";
    $headers{Host} //= '127.0.0.1';
    $raw .= "$_: $headers{$_}\r\n" for sort keys %headers;
    return $w->request("$raw" . "Connection: close\r\n\r\n", $port ? (port => $port) : ());
}

# <If> at top level
is(fetch('/', Host => 'example.com')->header('X-Host'), 'example', '<If "%{HTTP_HOST} == ...">: true');
is(fetch('/', Host => 'www.example.com')->header('X-Host'), undef, '... and false for another host');

# chains
is(fetch('/?a=12')->header('X-Chain'), 'if', '<If> of a chain');
is(fetch('/?c')->header('X-Chain'), 'elseif', '<ElseIf> when the <If> is false');
is(fetch('/?zzz')->header('X-Chain'), 'else', '<Else> when all before are false');
is(fetch('/?a=12')->header_count('X-Chain'), 1, 'only one member of a chain applies');

is(fetch('/?cond')->header('X-Scope'), 'if', '<If> inside <IfDefine> ...');
is(fetch('/?other')->header('X-Scope'), 'else', '... continued by an <Else> outside it (one scope, as Apache)');

# addresses
is(fetch('/')->header('X-Loopback'), 'yes', '-R with a CIDR network');
is(fetch('/')->header('X-Ten'), undef, '-ipmatch false for another network (IPv4 and IPv6)');

# nested <If>, ErrorDocument inside
my $r = fetch('/missing', 'User-Agent' => 'curl/8.0', 'X-Nested' => '1');
is($r->status, 404, 'a missing file is still 404');
is($r->body, 'curl not found', 'ErrorDocument in an <If>');
is($r->header('X-Nested'), 'inner', 'a nested <If> applies when both hold');
$r = fetch('/missing', 'User-Agent' => 'Wget');
like($r->body, qr/404 Not Found/, 'the default error page when the <If> is false');
is(fetch('/missing', 'User-Agent' => 'wget', 'X-Nested' => '1')->header('X-Nested'), undef,
   'a nested <If> does not apply when the outer one is false');

# Header ... expr=
$r = fetch('/admin/x');
is($r->header('X-Admin'), '1', 'Header always set ... expr=: true (on a 404 too)');
is($r->header('X-Not-Admin'), undef, 'Header ... expr=: false');
$r = fetch('/other.txt');
is($r->header('X-Admin'), undef, 'Header ... expr= false elsewhere');
is($r->header('X-Not-Admin'), '1', 'Header ... expr= with ! and parentheses');

# <If> inside <Directory>
is(fetch('/private/a.txt')->status, 403, '<If> in <Directory>: Require all denied when the token is wrong');
is(fetch('/private/a.txt', 'X-Token' => 'secret')->status, 200, '... and not when it is right');
is(fetch('/other.txt')->status, 200, '... and not outside the <Directory>');

# Require expr
is(fetch('/guarded')->status, 403, 'Require expr false: 403');
is(fetch('/guarded?key=1')->status, 200, 'Require expr true: 200');
is(fetch('/either', 'X-Pass' => '42')->status, 200, 'Require expr in <RequireAny>, integer comparison');
is(fetch('/either', 'X-Pass' => '41')->status, 403, '... false');

is(fetch('/notexpr?block')->status, 403, 'Require not expr: denied when it holds');
is(fetch('/notexpr?pass')->status, 200, '... granted otherwise');

# merge order: <If> sections merge after <Location>
is(fetch('/order/x')->body, 'if in directory', '<If> in a <Directory> merges after <Location>');

# -f on REQUEST_FILENAME
is(fetch('/app/nothing')->body, 'no such file in the app', '!-f %{REQUEST_FILENAME}');
is(fetch('/app/real.txt')->status, 200, '-f true for an existing file');

# ErrorDocument's argument is a string expression (Apache 2.4.13+)
is(fetch('/expr-error/x?q')->body, 'Not here: /expr-error/x abc', 'ErrorDocument with %{VAR} and %{func:text}');

# virtual host
is(fetch('/', port => $w->port2, Host => 'vhost.example:8000')->header('X-Vhost'), 'port2',
   '<If> in a <VirtualHost> (SERVER_PORT is the port of Host, as in Apache)');
is(fetch('/', Host => 'vhost.example:8000')->header('X-Vhost'), undef, '... not on the main server');

$w->stop;

# ---- configuration errors at -t
sub config_error_like {
    my ($body, $line, $re, $name) = @_;
    my $t = WeftTest->new(conf => $body, files => { 'www/index.html' => "x\n" });
    my ($status, undef, $stderr) = $t->check_config;
    isnt($status, 0, "$name: -t fails");
    my $file = $t->conf_path;
    like($stderr, qr/^\Q$file\E:$line: $re/m, "$name: file:line message") or diag $stderr;
    return $stderr;
}
config_error_like("<If \"%{HTTP_HOST} = 'x'\">\n</If>\n", 1,
                  qr/syntax error at offset 13 in expression '%\{HTTP_HOST\} = 'x'': expected an operator/,
                  'a single =');
config_error_like("\n<If \"%{HTTP_X_FOO} == 'x'\">\n</If>\n", 2,
                  qr/syntax error at offset 0 .*variable 'HTTP_X_FOO' is unknown or not supported by weft/,
                  'a variable Apache does not have');
config_error_like("<If \"%{REQUEST_URI} =~ m#(#\">\n</If>\n", 1,
                  qr/syntax error at offset 18 .*regular expression: missing closing parenthesis/, 'a bad regex');
config_error_like("<If \"-F '/x'\">\n</If>\n", 1, qr/.*unary operator '-F' is unknown or not supported by weft/,
                  'an operator weft lacks');
config_error_like("<If \"%{REMOTE_ADDR} -ipmatch '10.0.0.0/40'\">\n</If>\n", 1,
                  qr/.*'10\.0\.0\.0\/40' is not an IP address or network/, 'a bad network');
config_error_like("<If \"true\" \"false\">\n</If>\n", 1, qr/Multiple <If> arguments not supported/,
                  'two arguments');
config_error_like("<Else>\n</Else>\n", 1,
                  qr/<Else> or <ElseIf> section without previous <If> or <ElseIf> section in same scope/,
                  '<Else> alone');
config_error_like("<If \"true\">\n</If>\n<Else>\n</Else>\n<ElseIf \"true\">\n</ElseIf>\n", 5,
                  qr/<Else> or <ElseIf> section without previous/, '<ElseIf> after <Else>');
config_error_like("<Directory />\n<If \"true\">\n</If>\n</Directory>\n<Else>\n</Else>\n", 5,
                  qr/<Else> or <ElseIf> section without previous/, '<Else> in another scope than its <If>');
config_error_like("<If \"true\">\n<Else>\n</Else>\n</If>\n", 2,
                  qr/<Else> or <ElseIf> section without previous/, '<Else> inside its <If>');
config_error_like("<If \"true\">\n    <Directory />\n    </Directory>\n</If>\n", 2,
                  qr/<Directory> cannot occur within <If> section/, '<Directory> inside <If>');
config_error_like("<If \"true\">\n    Listen 127.0.0.1:1\n</If>\n", 2, qr/Listen not allowed here/,
                  'a server directive inside <If>');
config_error_like("<Else \"x\">\n</Else>\n", 1, qr/<Else> does not take an argument/, '<Else> with an argument');
config_error_like("Header set X-A 1 \"expr=%{REQUEST_URI} =~ m#x\"\n", 1,
                  qr/syntax error at offset 18 .*regular expression without its closing #/, 'Header expr=');
config_error_like("Header set X-A \"expr=%{REQUEST_URI}\"\n", 1,
                  qr/.*a value computed by an expression \(expr=\) is not supported/, 'Header with an expr= value');
config_error_like("<Location />\n    Require expr \"%{REQUEST_URI} == \"\n</Location>\n", 2,
                  qr/syntax error at offset 18 .*unexpected end/, 'Require expr');
{
    # Apache reads Require's arguments as written (RAW_ARGS): the quotes of
    # an unquoted expression stay, as in mod_ssl's documented
    # Require expr %{SSL_CLIENT_S_DN_CN} == 'alice' (t/94 serves it).
    my $t = WeftTest->new(conf => "<Location />\n    Require expr %{HTTP_HOST} == 'x y'\n</Location>\n");
    my ($status, undef, $stderr) = $t->check_config;
    is($status, 0, 'Require expr written as several words is read as written') or diag $stderr;
}
config_error_like("ErrorDocument 404 \"a %{BADVAR}\"\n", 1,
                  qr/Cannot parse expression in ErrorDocument: syntax error at offset 2 .*variable 'BADVAR'/,
                  'ErrorDocument with an unknown variable');
my $stderr = config_error_like("<If \"%{NOPE} == 'x'\">\n    Header set X-A 1\n</If>\n<Else>\n</Else>\n", 1,
                               qr/.*variable 'NOPE'/, 'a broken <If>');
unlike($stderr, qr/without previous/, '... its <Else> adds no second error');

# Syntax OK for the forms Apache's documentation shows
my $ok = WeftTest->new(conf => <<'EOF', files => { 'www/index.html' => "x\n" });
Listen 127.0.0.1:@PORT@
<If "%{HTTP_HOST} == 'example.com'">
    Header set X-A 1
</If>
<ElseIf "%{HTTP_HOST} =~ /^www\./">
    Header set X-A 2
</ElseIf>
<If "%{QUERY_STRING} =~ /(delete|commit)=.*?elem/ && ! (%{REQUEST_METHOD} in { 'GET', 'HEAD' })">
    Require all denied
</If>
<If "-z req('Host')">
    Require all denied
</If>
<If "%{TIME_HOUR} -gt 22 || %{TIME_HOUR} -lt 6">
    Header set X-Night 1
</If>
<If "tolower(%{HTTP:Accept}) =~ m#text/html#i && %{REQUEST_SCHEME} == 'http' && %{HTTPS} != 'on'">
    Header set X-B 1
</If>
EOF
my ($status, undef, $err) = $ok->check_config;
is($status, 0, 'expressions from Apache\'s documentation pass -t') or diag $err;
my ($dump_status, $dump) = $ok->run_weft($ok->weft_args, '-D', 'DUMP_CONFIG');
like($dump, qr/^<If "-z req\('Host'\)">\n    Require all denied\n<\/If>$/m, 'DUMP_CONFIG shows an <If>');
like($dump, qr/^<ElseIf "%\{HTTP_HOST\} =~ \/\^www/m, '... and an <ElseIf>');

# ---- the same expressions in Apache 2.4, where it is installed: each one
# sets a header when it holds, and both servers answer the same request
SKIP: {
    my $why_not = apache_missing(qw(mpm_event authz_core headers));
    skip "$why_not: no comparison with Apache", 1 if $why_not;
    my $cmp = WeftTest->new(conf => '', files => { 'www/p/42' => "hi\n" });
    my $root = $cmp->root;
    my @exprs = (
        "true and false", "not true", "!true && false", "true || false && false", "not false and true",
        "%{REQUEST_URI} =~ m#^/p/(\\d+)# && \$1 == '42'", "%{REQUEST_URI} =~ m#^/p/(\\d+)# && '\$1x' == '42x'",
        "'%{REQUEST_METHOD}-x' == 'GET-x'", "9 -lt 10", "'9' < '10'",
        "%{SERVER_NAME} == 'h.example'", "%{REQUEST_URI} == '/p/42'", "%{THE_REQUEST} == 'GET /p/42?q=1 HTTP/1.1'",
        "%{QUERY_STRING} == 'q=1'", "%{HTTPS} == 'off'", "%{REQUEST_SCHEME} == 'http'", "%{IPV6} == 'off'",
        "%{REMOTE_ADDR} == '127.0.0.1'", "-z %{HTTP_REFERER}", "%{HTTP_USER_AGENT} == 'ua'",
        "escape('a b/c?') == 'a%20b/c%3f'", "unescape('a%2fb') == 'a/b'", "unescape('a%20b') == 'a b'",
        "-T 'no'", "-T 'yes'", "%{REQUEST_FILENAME} == '$root/www/p/42'", "%{DOCUMENT_ROOT} == '$root/www'",
        "%{REMOTE_PORT} -gt 0", "%{SERVER_PROTOCOL} == 'HTTP/1.1'", "%{IS_SUBREQ} == 'false'",
        "%{HTTP:X-Multi} == 'a, b'", "%{HTTP:x-multi} == 'a, b'", "req('X-Multi') == 'a, b'",
        "%{REMOTE_HOST} == '127.0.0.1'", "%{REQUEST_STATUS} == '200'", "-f %{REQUEST_FILENAME}",
        "-d %{DOCUMENT_ROOT}", "-s %{REQUEST_FILENAME}", "-e '/nonexistent/weft'",
        "%{REMOTE_ADDR} -ipmatch '127.0.0.1/8'", "%{REMOTE_ADDR} -ipmatch '127'", "-R '127.0.0.1'", "-R '::1'",
        "%{REQUEST_URI} -strmatch '/p/*'", "%{REQUEST_URI} -fnmatch '/*'", "%{REQUEST_URI} -strcmatch '/P/*'",
        "'abc' =~ /B/i", "'abc' !~ /B/", "%{REQUEST_METHOD} in { 'GET', 'HEAD' }", "'a' . 'b' == 'ab'",
        "tolower('AbC') == 'abc'", "toupper('AbC') == 'ABC'", "%{tolower:ABC} == 'abc'",
        "%{tolower:%{HTTP_USER_AGENT}X} == 'uax'", "'it\\'s' == \"it's\"", "%{HTTP_HOST} == 'h.example:80'",
        "%{SERVER_PORT} == '80'", "%{CONTENT_TYPE} == ''", "'x' -eq 1", "!('x' -eq 1)", "'' -eq 0",
        "' 5' -eq 5", "'5 ' -eq 5", "'-3' -lt 0", "'+3' -eq 3", "'a' =~ /(a)|(b)/ && \$2 == ''",
        "'ab' =~ /(a)/ && 'xy' =~ /(z)/ || \$1 == 'a'", "%{TIME_YEAR} -ge 2024", "-n %{TIME}",
        "%{AUTH_TYPE} == ''", "%{REMOTE_USER} == ''", "'a.b' =~ /^a.b\$/",
    );
    my $ifs = '';
    for my $i (0 .. $#exprs) {
        (my $e = $exprs[$i]) =~ s/"/\\"/g;
        $ifs .= "<If \"$e\">\n    Header always set X-E$i 1\n</If>\n";
    }
    $cmp->write_conf("Listen 127.0.0.1:\@PORT\@\nServerName h.example\n$ifs");
    $cmp->start;

    my $apache_port = WeftTest::free_port();
    my ($pid, $problem) = start_apache(root => $root, port => $apache_port, modules => [qw(mpm_event authz_core headers)],
                                       config => "ServerName h.example\nDocumentRoot $root/www\n$ifs");
    unless ($pid) {
        fail("apache2 serves the same <If> sections: $problem");
        $cmp->stop;
        last SKIP;
    }
    my $raw = "GET /p/42?q=1 HTTP/1.1\r\nHost: h.example:80\r\nUser-Agent: ua\r\nX-Multi: a\r\nX-Multi: b\r\n"
        . "Connection: close\r\n\r\n";
    my $apache_answer = WeftTest::wait_for(sub {
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $apache_port, Timeout => 2) or return;
        my $r = WeftTest::send_raw($s, $raw) // 1;
        return WeftTest::read_response($s, method => 'GET');
    }, WeftTest::scale(15), 0.1);
    stop_apache($pid);
    unless ($apache_answer && $apache_answer->{status}) {
        fail('apache2 answered the request: ' . (WeftTest::_slurp("$root/apache/out") // ''));
        $cmp->stop;
        last SKIP;
    }
    my $weft_answer = $cmp->request($raw);
    my (@apache, @weft);
    for my $i (0 .. $#exprs) {
        push @apache, ($apache_answer->header("X-E$i") ? 'true ' : 'false') . "  $exprs[$i]";
        push @weft, ($weft_answer->header("X-E$i") ? 'true ' : 'false') . "  $exprs[$i]";
    }
    is_deeply(\@weft, \@apache, scalar(@exprs) . ' expressions hold in weft exactly where they hold in Apache 2.4');
    $cmp->stop;
}

done_testing();
