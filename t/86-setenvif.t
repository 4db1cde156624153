#!/usr/bin/perl
# mod_setenvif and the request environment: Debian's setenvif.conf loaded
# verbatim and acting (nokeepalive, downgrade-1.0, force-response-1.0),
# SetEnvIf on the special attributes, on headers and on earlier variables,
# $1 substitution, !var, NoCase, server-level and directory-level rules,
# the variables reaching a CGI script, Header env=, CustomLog env= and %{}e,
# and no-gzip keeping DEFLATE off.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX ();
use IO::Socket::IP;
use WeftApache qw(apache_missing start_apache stop_apache);
use WeftTest qw(wait_for scale);
use WeftCgi;

my %scripts = WeftCgi::scripts('cgi-bin');

# Debian 12's /etc/apache2/mods-available/setenvif.conf, as shipped.
my $debian_setenvif = <<'EOF';
<IfModule mod_setenvif.c>

#
# The following directives modify normal HTTP response behavior to
# handle known problems with browser implementations.
#
BrowserMatch "Mozilla/2" nokeepalive
BrowserMatch "MSIE 4\.0b2;" nokeepalive downgrade-1.0 force-response-1.0
BrowserMatch "RealPlayer 4\.0" force-response-1.0
BrowserMatch "Java/1\.0" force-response-1.0
BrowserMatch "JDK/1\.0" force-response-1.0

#
# The following directive disables redirects on non-GET requests for
# a directory that does not include the trailing slash.  This fixes a
# problem with Microsoft WebFolders which does not appropriately handle
# redirects for folders with DAV methods.
# Same deal with Apple's DAV filesystem and Gnome VFS support for DAV.
#
BrowserMatch "Microsoft Data Access Internet Publishing Provider" redirect-carefully
BrowserMatch "MS FrontPage" redirect-carefully
BrowserMatch "^WebDrive" redirect-carefully
BrowserMatch "^WebDAVFS/1.[01234]" redirect-carefully
BrowserMatch "^gnome-vfs/1.0" redirect-carefully
BrowserMatch "^gvfs/1" redirect-carefully
BrowserMatch "^XML Spy" redirect-carefully
BrowserMatch "^Dreamweaver-WebDAV-SCM1" redirect-carefully
BrowserMatch " Konqueror/4" redirect-carefully

</IfModule>
EOF

my $w = WeftTest->new(
    conf => <<'EOF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
KeepAlive On
MaxKeepAliveRequests 100
Include conf/setenvif.conf
LogFormat "%U kind=%{FILEKIND}e" kinds
CustomLog logs/access_log "%U" env=!dontlog
CustomLog logs/kinds_log kinds env=FILEKIND
SetEnvIf Request_URI "\.png$" dontlog
SetEnvIf Request_URI "^/files/([a-z]+)\.txt$" FILEKIND=$1 WHOLE=[$0]
SetEnvIf FILEKIND ^plain$ IS_PLAIN
SetEnvIfNoCase X-Flavour ^VANILLA$ flavour=vanilla
SetEnvIf X-Flavour ^vanilla$ exact=yes
SetEnvIf Remote_Addr ^127\.0\.0\.1$ from_loopback
SetEnvIf Request_Method ^POST$ posted
SetEnvIf Request_Protocol ^HTTP/1\.0$ old_protocol
SetEnvIf Server_Addr ^127\. local_server
SetEnvIf ^X-Tok.*$ ^secret- has_token
SetEnvIf X-Multi "^a, b$" multi_joined
SetEnvIf X-Missing ^$ no_missing_header
SetEnvIf X-Drop . !from_loopback
BrowserMatchNoCase "^testbot/([0-9]+)" bot=$1
Header set X-Kind "kind %{FILEKIND}e %{NOPE}e" env=FILEKIND
Header set X-Plain yes env=IS_PLAIN
Header set X-Not-Plain yes env=!IS_PLAIN
Header set X-Loopback yes env=from_loopback
Header always set X-Flavour-Seen yes env=flavour
Header set X-Exact yes env=exact
Header set X-Token yes env=has_token
Header set X-No-Missing yes env=no_missing_header
Header set X-Bot yes env=bot
Header set X-Multi-Joined yes env=multi_joined
SetEnvIf Request_URI "^/split/(.*)$" RAW_SPLIT=$1
Header always set X-Raw-Split "%{RAW_SPLIT}e" env=RAW_SPLIT
<Location /split>
    SetEnvIf Request_URI "^/split/(.*)$" SPLIT=$1
</Location>
Header always set X-Split "%{SPLIT}e" env=SPLIT
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
SetEnvIf Request_URI "^/cgi-bin/env\.cgi/(\w+)$" PATH_WORD=$1 downgrade-1.0-looking.name=odd
<Directory "@ROOT@/www/inner">
    SetEnvIf Request_URI "inner/(\w+)" INNER=$1
    Header set X-Inner-Seen yes env=INNER
    SetEnv FROM_SETENV "set by SetEnv"
    Header set X-SetEnv "%{FROM_SETENV}e" env=FROM_SETENV
</Directory>
<Directory "@ROOT@/www/gz">
    SetOutputFilter DEFLATE
    SetEnvIf Request_URI "\.nogz$" no-gzip
    SetEnvIf Request_URI "\.novary$" force-no-vary
</Directory>
EOF
    files => {
        %scripts,
        'conf/setenvif.conf' => $debian_setenvif,
        'www/index.html' => "index\n",
        'www/image.png' => "png\n",
        'www/files/plain.txt' => "plain text\n",
        'www/files/other.txt' => "other text\n",
        'www/inner/page.html' => "inner\n",
        'www/gz/a.html' => ("compress me " x 200) . "\n",
        'www/gz/b.nogz' => ("do not compress " x 200) . "\n",
        'www/gz/c.novary' => ("no vary " x 200) . "\n",
    },
);

my ($code, $out, $err) = $w->check_config;
is($code, 0, 'Debian setenvif.conf and the rules load: -t succeeds') or diag($out . $err);
like($out . $err, qr/Syntax OK/, '-t says Syntax OK');
$w->start;

# ---- the special variables of Debian's file -------------------------------

sub keepalive_request {
    my ($agent, %o) = @_;
    my $version = $o{version} // 'HTTP/1.1';
    my $raw = "GET /index.html $version\r\nHost: " . $w->host_header . "\r\nUser-Agent: $agent\r\n"
        . ($version eq 'HTTP/1.0' ? "Connection: keep-alive\r\n" : '') . "\r\n";
    my ($r, $sock) = $w->request($raw, keep => 1);
    my ($state) = WeftTest::wait_closed($sock, scale(1));
    close $sock;
    return ($r, $state);
}

my ($r, $state) = keepalive_request('Mozilla/5.0 (X11)');
is($r->{status}, 200, 'ordinary browser: 200');
is($state, 'open', 'ordinary browser: the connection stays open');

($r, $state) = keepalive_request('Mozilla/2.02 (Win95)');
is($r->{status}, 200, 'Mozilla/2: 200');
like($r->header('Connection') // '', qr/close/i, 'BrowserMatch "Mozilla/2" nokeepalive: Connection: close');
is($state, 'closed', 'nokeepalive: the server closes the connection');

($r, $state) = keepalive_request('Mozilla/4.0 (compatible; MSIE 4.0b2; Windows 95)');
is($r->{status}, 200, 'MSIE 4.0b2: 200');
like($r->{raw}, qr{\AHTTP/1\.0 200}, 'downgrade-1.0 + force-response-1.0: an HTTP/1.1 request is answered HTTP/1.0');
is($state, 'closed', 'MSIE 4.0b2 (nokeepalive): closed');

($r, $state) = keepalive_request('RealPlayer 4.0');
like($r->{raw}, qr{\AHTTP/1\.1 200}, 'force-response-1.0 alone leaves an HTTP/1.1 request at 1.1');
($r, $state) = keepalive_request('RealPlayer 4.0', version => 'HTTP/1.0');
like($r->{raw}, qr{\AHTTP/1\.0 200}, 'force-response-1.0: an HTTP/1.0 request gets an HTTP/1.0 status line');
is($state, 'closed', 'force-response-1.0: and the connection is closed even with keep-alive asked for');
($r, $state) = keepalive_request('Mozilla/5.0', version => 'HTTP/1.0');
like($r->{raw}, qr{\AHTTP/1\.1 200}, 'without it an HTTP/1.0 request gets weft\'s usual HTTP/1.1 status line');
is($state, 'open', 'and HTTP/1.0 keep-alive works');

$r = $w->get('/index.html', 'User-Agent' => 'gvfs/1.50');
is($r->{status}, 200, 'redirect-carefully (gvfs) changes nothing for GET');

# ---- SetEnvIf attributes, substitution, Header env= ----------------------

# A decoded URL-path (SetEnvIf in a section) copied into a header through
# $1 and %{VAR}e: CR LF in it must not end the field and start another
# (response splitting).
$r = $w->get('/split/a%0d%0aSet-Cookie:%20evil=1%0d%0a%0d%0abody');
is($r->header('Set-Cookie'), undef, 'CR LF from SetEnvIf $1 in Header %{VAR}e: no injected field');
is($r->header('X-Split'), undef, '... the field with CR LF is left out');
is($r->{status}, 404, '... and the response is otherwise intact');
is($r->header('X-Raw-Split'), 'a%0d%0aSet-Cookie:%20evil=1%0d%0a%0d%0abody',
   'a server-level SetEnvIf Request_URI sees the path as received, not decoded (Apache\'s post_read)');
ok($w->wait_error_log(qr/X-Split.*CR or LF/), '... and logged');
$r = $w->get('/split/plain');
is($r->header('X-Split'), 'plain', 'a value without CR LF is sent');

$r = $w->get('/files/plain.txt');
is($r->{status}, 200, '/files/plain.txt: 200');
is($r->header("X-Kind"), "kind plain (null)", 'Header ... env=FILEKIND: set by SetEnvIf Request_URI ($1)');
is($r->header('X-Plain'), 'yes', 'SetEnvIf on a variable set by an earlier rule (FILEKIND=plain)');
is($r->header('X-Not-Plain'), undef, 'env=! is false when the variable is set');
is($r->header('X-Loopback'), 'yes', 'SetEnvIf Remote_Addr');
is($r->header('X-No-Missing'), 'yes', 'an absent header matches as the empty string (^$)');

$r = $w->get('/files/other.txt');
is($r->header('X-Plain'), undef, 'FILEKIND=other: no IS_PLAIN');
is($r->header('X-Not-Plain'), 'yes', 'env=!IS_PLAIN when unset');

$r = $w->get('/index.html', 'X-Flavour' => 'Vanilla');
is($r->header('X-Flavour-Seen'), 'yes', 'SetEnvIfNoCase matches regardless of case');
is($r->header('X-Exact'), undef, 'SetEnvIf is case-sensitive');
is($r->header('X-Kind'), undef, 'no FILEKIND on another path');

$r = $w->get('/nothing-here', 'X-Flavour' => 'vanilla');
is($r->{status}, 404, '404 for a missing file');
is($r->header('X-Flavour-Seen'), 'yes', 'Header always ... env= on an error response');

$r = $w->get('/index.html', 'X-Token-Id' => 'secret-123');
is($r->header('X-Token'), 'yes', 'a regular expression as the attribute matches header names');
$r = $w->get('/index.html', 'x-token-id' => 'secret-123');
is($r->header('X-Token'), undef, 'the attribute regex is case-sensitive for SetEnvIf (as Apache: names as sent)');
$r = $w->request("GET /index.html HTTP/1.1\r\nHost: " . $w->host_header
    . "\r\nX-Multi: a\r\nConnection: close\r\nX-Multi: b\r\n\r\n");
is($r->header('X-Multi-Joined'), 'yes', 'a header sent twice is matched as its values joined by ", "');
$r = $w->get('/index.html', 'X-Drop' => 'x');
is($r->header('X-Loopback'), undef, '!var unsets a variable an earlier rule set');
$r = $w->get('/index.html', 'X-Missing' => 'here');
is($r->header('X-No-Missing'), undef, 'a present header does not match ^$');
$r = $w->get('/index.html', 'User-Agent' => 'TestBot/7 (crawler)');
is($r->header('X-Bot'), 'yes', 'BrowserMatchNoCase');

# ---- directory-level rules ----------------------------------------------

$r = $w->get('/inner/page.html');
is($r->{status}, 200, '/inner/page.html: 200');
is($r->header('X-Inner-Seen'), 'yes', 'SetEnvIf inside <Directory> runs once the directory is known');
is($r->header('X-SetEnv'), 'set by SetEnv', 'SetEnv variables are in the request environment (env=, %{}e)');
$r = $w->get('/index.html');
is($r->header('X-Inner-Seen'), undef, 'and only there');

# ---- CGI ---------------------------------------------------------------------

$r = $w->request("POST /cgi-bin/env.cgi/hello HTTP/1.0\r\nHost: " . $w->host_header
    . "\r\nContent-Length: 0\r\nX-Flavour: VANILLA\r\n\r\n");
is($r->{status}, 200, 'CGI: 200');
my %env = WeftCgi::parse_env($r->{body});
is($env{PATH_WORD}, 'hello', 'CGI receives SetEnvIf Request_URI $1');
is($env{flavour}, 'vanilla', 'CGI receives a SetEnvIfNoCase variable');
is($env{posted}, '1', 'SetEnvIf Request_Method: a bare name is set to 1');
is($env{old_protocol}, '1', 'SetEnvIf Request_Protocol');
is($env{local_server}, '1', 'SetEnvIf Server_Addr');
is($env{downgrade_1_0_looking_name}, 'odd', 'names are made shell-safe as Apache does (non-alphanumerics to _)');
is($env{from_loopback}, '1', 'Remote_Addr variable reaches CGI');

# ---- CustomLog env= and %{}e, no-gzip ------------------------------------

$r = $w->get('/image.png');
is($r->{status}, 200, '/image.png: 200');
$r = $w->get('/index.html?last');
ok(wait_for(sub { $w->access_log =~ m{^/index\.html$}m && ($w->read_file('logs/kinds_log') // '') =~ /other/ },
            scale(5)), 'the access logs were written');
my $log = $w->access_log;
unlike($log, qr{^/image\.png}m, 'CustomLog ... env=!dontlog leaves out what SetEnvIf marked');
like($log, qr{^/files/plain\.txt$}m, 'and logs the rest');
my $kinds = $w->read_file('logs/kinds_log') // '';
like($kinds, qr{^/files/plain\.txt kind=plain$}m, 'CustomLog env=FILEKIND with %{FILEKIND}e');
unlike($kinds, qr{^/index\.html}m, 'env= leaves out requests without the variable');

$r = $w->get('/gz/a.html', 'Accept-Encoding' => 'gzip');
is($r->header('Content-Encoding'), 'gzip', 'DEFLATE compresses a.html');
$r = $w->get('/gz/b.nogz', 'Accept-Encoding' => 'gzip');
is($r->{status}, 200, 'b.nogz: 200');
is($r->header('Content-Encoding'), undef, 'SetEnvIf ... no-gzip: DEFLATE leaves the response alone');
is($r->header('Vary'), undef, 'no-gzip: no Vary either (Apache checks it before adding Vary)');
$r = $w->get('/gz/c.novary', 'Accept-Encoding' => 'gzip');
is($r->{status}, 200, 'c.novary: 200');
is($r->header('Vary'), undef, 'force-no-vary removes Vary');
like($r->{raw}, qr{\AHTTP/1\.0 200}, 'force-no-vary implies force-response-1.0 (HTTP/1.0 status line)');
is($r->header('Content-Encoding'), 'gzip', 'and the body is still compressed, without chunking');
is($r->header('Transfer-Encoding'), undef, 'no chunked coding in an HTTP/1.0 answer');

# ---- virtual hosts: the main server's rules, then the host's own ----------

my $v = WeftTest->new(conf => <<'EOF');
ServerName main.example
SetEnvIf Request_URI ^/ FROM_MAIN=main
<VirtualHost *:@PORT@>
    ServerName one.example
    SetEnvIf Request_URI ^/ FROM_HOST=one
    SetEnvIf FROM_MAIN ^main$ SAW_MAIN
    Header set X-Env "%{FROM_MAIN}e %{FROM_HOST}e %{SAW_MAIN}e"
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName two.example
    Header set X-Env "%{FROM_MAIN}e %{FROM_HOST}e %{SAW_MAIN}e"
</VirtualHost>
EOF
$v->write_file('www/index.html', "v\n");
$v->start;
$r = $v->get('/index.html', Host => 'one.example');
is($r->header('X-Env'), 'main one 1', 'a virtual host runs the main server\'s rules, then its own');
$r = $v->get('/index.html', Host => 'two.example');
is($r->header('X-Env'), 'main (null) (null)', 'another virtual host runs only the main server\'s');
$v->stop;

# ---- the same rules against Apache httpd 2.4, where it is installed --------

my $shared = $debian_setenvif . <<'EOF';
SetEnvIf ^X-Tok ^(secret)-(\d+) TOK=$2-$1-$0
SetEnvIf Request_Protocol ^HTTP/1\.0$ OLDP
SetEnvIf X-Esc "^(a)" "ESC=\$1-$1"
SetEnvIf X-Missing ^$ MISSING
SetEnvIf X-Two ^(.*)$ TWO=$1
SetEnvIf Remote_Addr ^(.*)$ RA=$1
SetEnvIf X-Plain plainword PLAIN=$1x
SetEnvIfNoCase X-CASE ^yes$ NOCASE
SetEnvIf Request_URI "^/(\w+)/" FIRST=$1
SetEnvIf X-Unset . !FIRST
SetEnvIfNoCase X-Prefix "^abc" PFX=[$0]
SetEnvIf X-Prefix "^abc" PFXCASE=[$0]
SetEnvIfNoCase X-Sub needle SUB=[$0]
SetEnvIf X-Sub needle SUBCASE=1
SetEnvIf X-Sub "stack\.x" DOT=1
Header always set X-Vars2 "%{PFX}e|%{PFXCASE}e|%{SUB}e|%{SUBCASE}e|%{DOT}e"
Header always set X-Vars "%{TOK}e|%{OLDP}e|%{ESC}e|%{MISSING}e|%{TWO}e|%{RA}e|%{PLAIN}e|%{NOCASE}e|%{FIRST}e"
Header set X-Dir "%{IN_DIR}e" env=IN_DIR
<Directory "@ROOT@/www/dir">
    SetEnvIf Request_URI "(\w+)\.html$" IN_DIR=$1
</Directory>
EOF
my $c = WeftTest->new(conf => "Include conf/shared.conf\n",
                      files => { 'www/dir/page.html' => "page\n", 'www/index.html' => "i\n" });
$c->write_file('conf/shared.conf', $c->subst($shared));
$c->start;
my @raw = (
    "GET /dir/page.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Token: secret-42\r\nX-Esc: abc\r\n"
        . "X-Two: one\r\nX-Two: two\r\nX-Plain: a plainword b\r\nx-case: YES\r\nX-Prefix: ABCdef\r\n"
        . "X-Sub: hayNEEDLEstack.x\r\n\r\n",
    "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Prefix: abc\r\nX-Sub: needle stackx\r\n\r\n",
    "GET /dir/page.html HTTP/1.0\r\nX-Missing: here\r\nX-Unset: 1\r\n\r\n",
    "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-tokenish: secret-7\r\n\r\n",
    "GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 4.0b2; Windows 95)\r\n\r\n",
    "GET /index.html HTTP/1.0\r\nUser-Agent: Java/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET /index.html HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/2.02\r\n\r\n",
);
sub answer_at {
    my ($port, $raw) = @_;
    my $r = $c->request($raw, port => $port);
    return 'no response' unless defined $r->{status};
    my ($line) = $r->{raw} =~ m{\A(HTTP/1\.\d \d+)};
    return join(' | ', $line, map { "$_: " . ($r->header($_) // '-') } qw(Connection X-Vars X-Vars2 X-Dir));
}
my @ours = map { answer_at($c->port, $_) } @raw;
is($ours[0], 'HTTP/1.1 200 | Connection: close | X-Vars: 42-secret-secret-42|(null)|$1-a|1|one, two|127.0.0.1|$1x|1|dir'
   . ' | X-Vars2: [ABC]|(null)|[$0]|(null)|1 | X-Dir: page', 'the rules as weft applies them');
is($ours[1], 'HTTP/1.1 200 | Connection: close | X-Vars: (null)|(null)|(null)|1||127.0.0.1|(null)|(null)|(null)'
   . ' | X-Vars2: [abc]|[abc]|[$0]|1|(null) | X-Dir: -', 'plain strings and "^" prefixes (matched without PCRE2)');

my $why_not = apache_missing(qw(mpm_event authz_core setenvif headers dir));
SKIP: {
    skip "$why_not: weft's answers not compared with Apache's", scalar(@raw) + 1 if $why_not;
    my $port = $c->port2;
    my $root = $c->root;
    my ($pid, $problem) = start_apache(root => $root, port => $port,
        modules => [qw(mpm_event authz_core setenvif headers dir)],
        config => "DocumentRoot $root/www\nDirectoryIndex index.html\nInclude $root/conf/shared.conf\n");
    my $up = defined $pid;
    ok($up, 'apache2 -X serves the same rules') or diag($problem);
    for my $i (0 .. $#raw) {
        (my $shown = $raw[$i]) =~ s/\r\n/ /g;
        is($ours[$i], $up ? answer_at($port, $raw[$i]) : 'not started', "as Apache: $shown");
    }
    stop_apache($pid);
}
$c->stop;

# ---- configuration errors ------------------------------------------------

my $bad = WeftTest->new(conf => "SetEnvIf Request_URI \"(unclosed\" x\nBrowserMatch \"ok\" =value\n"
    . "CustomLog logs/x common expr=true\n");
($code, $out, $err) = $bad->check_config;
isnt($code, 0, 'bad SetEnvIf lines fail -t');
like($out . $err, qr/weft\.conf:1: .*Regular expression '\(unclosed'/, 'a bad regex names its line');
like($out . $err, qr/weft\.conf:2: BrowserMatch: '=value' names no environment variable/, 'a nameless variable');
like($out . $err, qr/weft\.conf:3: CustomLog: the condition 'expr=true' is not supported/,
     'CustomLog expr= is refused, not ignored');

$w->stop;
$w->check_sanitizer;
done_testing;
