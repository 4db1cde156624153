#!/usr/bin/perl
# mod_rewrite, request by request: the recipes of Apache's "common uses"
# documentation and the rules applications publish (WordPress's front
# controller with !-f/!-d, http->https through %{HTTPS}, www
# canonicalisation through %{HTTP_HOST}, a maintenance page, query-string
# rewriting with QSA/QSD), every flag that changes what a client sees
# (R=, F, G, E=, CO=, T=, S=, N and its loop limit, B, PT, END against L),
# the maps (txt:, rnd:, int:, prg:), rules at server, virtual host and
# <Directory> level with RewriteBase and Inherit, the FollowSymLinks
# requirement, <IfModule mod_rewrite.c>, trace lines, and -t refusals.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest;
use WeftCgi;

my %scripts = WeftCgi::scripts('cgi-bin');
my $perl = $^X;

my $w = WeftTest->new(
    conf => <<'EOF',
LogLevel warn rewrite:trace3
# [N] with a growing URL stops at twice this length
LimitRequestLine 1024
AddType text/plain .php
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
Listen 127.0.0.1:@PORT@
Listen 127.0.0.1:@PORT2@
Listen 127.0.0.1:@PORT3@
Listen 127.0.0.1:@PORT4@
Listen 127.0.0.1:@PORT5@

<IfModule mod_rewrite.c>
RewriteEngine On
RewriteMap lower int:tolower
RewriteMap upper int:toupper
RewriteMap esc int:escape
RewriteMap unesc int:unescape
RewriteMap products txt:@ROOT@/maps/products.txt
RewriteMap servers rnd:@ROOT@/maps/servers.txt
RewriteMap shout "prg:@ROOT@/maps/shout.pl"

# http -> https (this listener is plain: HTTPS is off)
RewriteCond %{HTTPS} off
RewriteRule ^/secure/(.*)$ https://%{HTTP_HOST}/secure/$1 [R=301,L]

# www canonicalisation
RewriteCond %{HTTP_HOST} ^example\.com$ [NC]
RewriteRule ^/(.*)$ http://www.example.com/$1 [R=301,L]

# maintenance page, while a flag file exists
RewriteCond @ROOT@/maintenance.on -f
RewriteCond %{REQUEST_URI} !^/maintenance\.html$
RewriteRule ^/shop/ /maintenance.html [L]

# query strings
RewriteRule ^/search/(\w+)$ /cgi-bin/env.cgi?q=$1 [PT,QSA]
RewriteRule ^/replace/(\w+)$ /cgi-bin/env.cgi?q=$1 [PT]
RewriteRule ^/clean/ /cgi-bin/env.cgi [PT,QSD]

RewriteRule ^/old/(.*)$ /new/$1 [R=301,L]
RewriteRule ^/temp/(.*)$ /new/$1 [R]
RewriteRule ^/external/(.*)$ http://other.example/$1 [L]
RewriteRule ^/forbidden - [F]
RewriteRule ^/gone - [G]
RewriteRule ^/envset/ /cgi-bin/env.cgi [PT,E=REWRITTEN:yes,E=FROM:%{REQUEST_URI}]
RewriteRule ^/cookie$ /index.html [CO=visited:yes:127.0.0.1:60:/:0:1,L]
RewriteRule ^/typed\.dat$ /data.bin [T=application/x-weft,L]
RewriteRule ^/handled/run$ /handled/env.cgi [H=cgi-script,L]

RewriteRule ^/skip/a$ - [S=1]
RewriteRule ^/skip/ /skipped.txt [L]
RewriteRule ^/skip/ /notskipped.txt [L]

RewriteRule ^/dash/(.*)-(.*)$ /dash/$1_$2 [N]
RewriteRule ^/dash/(.*)$ /cgi-bin/env.cgi?d=$1 [PT]
RewriteRule ^/loop/(.*)$ /loop/$1 [N=20]
RewriteRule ^/grow/(.*)$ /grow/x$1 [N]

RewriteRule ^/b/(.*)$ /cgi-bin/env.cgi?term=$1 [B,PT]
RewriteRule ^/nob/(.*)$ /cgi-bin/env.cgi?term=$1 [PT]

RewriteRule ^/lower/(.*)$ /cgi-bin/env.cgi?v=${lower:$1} [PT]
RewriteRule ^/upper/(.*)$ /cgi-bin/env.cgi?v=${upper:$1} [PT]
RewriteRule ^/product/(\w+)$ /cgi-bin/env.cgi?id=${products:$1|unknown} [PT]
RewriteRule ^/server$ /cgi-bin/env.cgi?s=${servers:pool} [PT]
RewriteRule ^/shout/(\w+)$ /cgi-bin/env.cgi?p=${shout:$1|silent} [PT]

RewriteCond %{HTTP:X-Level} -ge5
RewriteRule ^/level$ /high.txt [L]
RewriteRule ^/level$ /low.txt [L]

RewriteCond %{HTTP_USER_AGENT} ^Mobile [OR]
RewriteCond %{HTTP:X-Mobile} =yes
RewriteRule ^/home$ /mobile.txt [L]

RewriteCond %{HTTP_HOST} ^([a-z]+)\.users\.test$
RewriteRule ^/profile$ /cgi-bin/env.cgi?user=%1 [PT]

RewriteCond %{QUERY_STRING} (^|&)id=(\d+)
RewriteRule ^/item\.php$ /items/%2? [R=301,L]

RewriteCond expr "%{HTTP:X-Expr} == 'go' && %{REQUEST_METHOD} == 'GET'"
RewriteRule ^/exprtest$ /high.txt [L]

RewriteCond %{TIME_YEAR} >1999
RewriteCond %{REMOTE_ADDR} =127.0.0.1
RewriteCond %{SERVER_PORT} -gt0
RewriteCond %{THE_REQUEST} ^GET\ /now
RewriteRule ^/now$ /now.txt [L]
</IfModule>

<Directory "@ROOT@/www/blog">
    DirectoryIndex index.php
    # WordPress's rules, as it writes them
    <IfModule mod_rewrite.c>
    RewriteEngine On
    RewriteBase /blog/
    RewriteRule ^index\.php$ - [L]
    RewriteCond %{REQUEST_FILENAME} !-f
    RewriteCond %{REQUEST_FILENAME} !-d
    RewriteRule . /blog/index.php [L]
    </IfModule>
</Directory>

<Directory "@ROOT@/www/app">
    RewriteEngine On
    RewriteBase /app/
    RewriteRule ^page/(\d+)$ show.txt?id=$1 [L]
    RewriteRule ^moved/(.*)$ elsewhere/$1 [R=301,L]
    RewriteRule ^end$ end2.txt [END]
    RewriteRule ^end2\.txt$ - [F]
    RewriteRule ^last$ last2.txt [L]
    RewriteRule ^last2\.txt$ - [F]
    RewriteRule ^self\.txt$ self.txt [L]
    RewriteRule ^ping-pong$ ping-pong2 [L]
    RewriteRule ^ping-pong2$ ping-pong [L]
</Directory>
<Directory "@ROOT@/www/app/sub">
    RewriteOptions Inherit
    RewriteRule ^own$ own.txt [L]
</Directory>
<Directory "@ROOT@/cgi-bin">
    RewriteEngine On
    RewriteBase /cgi-bin/
    RewriteRule ^pretty/(\w+)$ env.cgi?page=$1 [E=AUTH:%{HTTP:Authorization},QSA,L]
</Directory>
<Directory "@ROOT@/www/nobase">
    RewriteEngine On
    RewriteRule ^x$ y.txt [L]
</Directory>
<Directory "@ROOT@/www/nosym">
    Options -FollowSymLinks
    RewriteEngine On
    RewriteRule ^x$ y.txt [L]
</Directory>

<VirtualHost *:@PORT2@>
    ServerName vhost.test
    RewriteEngine On
    RewriteRule ^/vonly$ /vonly.txt [L]
</VirtualHost>
<VirtualHost *:@PORT3@>
    ServerName plain.test
    <Directory "@ROOT@/www/mapped">
        RewriteEngine On
        RewriteRule ^(\w+)$ /cgi-bin/env.cgi?v=${upper:$1} [L]
    </Directory>
</VirtualHost>
<VirtualHost *:@PORT4@>
    ServerName inherit.test
    RewriteEngine On
    RewriteOptions Inherit
    RewriteRule ^/vonly$ /vonly.txt [L]
    RewriteRule ^/gone$ /vonly.txt [L]
</VirtualHost>
<VirtualHost *:@PORT5@>
    ServerName before.test
    RewriteEngine On
    RewriteOptions InheritBefore
    RewriteRule ^/gone$ /vonly.txt [L]
</VirtualHost>
<Directory "@ROOT@/www/handled">
    Options +ExecCGI
</Directory>
EOF
    files => {
        %scripts,
        'www/index.html'           => "home\n",
        'www/maintenance.html'     => "down for maintenance\n",
        'www/shop/cart.html'       => "cart\n",
        'www/data.bin'             => "data\n",
        'www/skipped.txt'          => "skipped\n",
        'www/notskipped.txt'       => "not skipped\n",
        'www/high.txt'             => "high\n",
        'www/low.txt'              => "low\n",
        'www/mobile.txt'           => "mobile\n",
        'www/now.txt'              => "now\n",
        'www/vonly.txt'            => "vhost only\n",
        'www/handled/env.cgi'      => $scripts{'cgi-bin/env.cgi'},
        'www/blog/index.php'       => "front controller\n",
        'www/blog/style.css'       => "css\n",
        'www/blog/wp-admin/index.php' => "admin\n",
        'www/app/show.txt'         => "show\n",
        'www/app/end2.txt'         => "end2\n",
        'www/app/last2.txt'        => "last2\n",
        'www/app/self.txt'         => "self\n",
        'www/app/sub/own.txt'      => "own\n",
        'www/app/sub/show.txt'     => "sub show\n",
        'www/nobase/y.txt'         => "nobase y\n",
        'www/nosym/y.txt'          => "nosym y\n",
        'maps/products.txt'        => "# id name\nwidget  gadget-42\nbolt bolt-7\n",
        'maps/servers.txt'         => "pool a.example|b.example|c.example\n",
        'maps/shout.pl'            => { mode => 0755, content => "#!$perl\n\$| = 1;\nwhile (my \$k = <STDIN>) { chomp \$k; print \$k eq 'quiet' ? \"NULL\\n\" : uc(\$k) . \"!\\n\"; }\n" },
    },
);
$w->start;
my $port = $w->port;

sub fetch {
    my ($target, %o) = @_;
    my $host = $o{host} // "127.0.0.1:" . ($o{port} // $port);
    my $extra = join('', map { "$_: $o{headers}{$_}\r\n" } sort keys %{ $o{headers} || {} });
    return $w->request("GET $target HTTP/1.1\r\nHost: $host\r\n${extra}Connection: close\r\n\r\n",
                       port => $o{port} // $port);
}

sub body_is {
    my ($target, $status, $body, $name, %o) = @_;
    my $r = fetch($target, %o);
    is($r->{status}, $status, "$name: status");
    is($r->{body}, $body, "$name: body") if defined $body;
    return $r;
}

sub redirects {
    my ($target, $status, $location, $name, %o) = @_;
    my $r = fetch($target, %o);
    is($r->{status}, $status, "$name: status");
    is($r->{headers}{location}, $location, "$name: Location");
}

# The CGI script's view: its variables.
sub cgi_env {
    my ($target, %o) = @_;
    my $r = fetch($target, %o);
    is($r->{status}, 200, "$target reaches the script") or diag($r->{body} // $r->{error});
    return WeftCgi::parse_env($r->{body} // '');
}

# ---- recipes ------------------------------------------------------------------
redirects('/secure/login?next=1', 301, "https://127.0.0.1:$port/secure/login?next=1", 'http -> https');
redirects('/anything/here', 301, 'http://www.example.com/anything/here', 'www canonicalisation',
          host => 'EXAMPLE.com');
body_is('/anything/here', 404, undef, 'other host names are left alone', host => 'www.example.com');

body_is('/shop/cart.html', 200, "cart\n", 'maintenance: off without the flag file');
$w->write_file('maintenance.on', '');
body_is('/shop/cart.html', 200, "down for maintenance\n", 'maintenance: on with the flag file');
unlink $w->path('maintenance.on');
body_is('/shop/cart.html', 200, "cart\n", 'maintenance: off again');

my %e = cgi_env('/search/kittens?page=2');
is($e{QUERY_STRING}, 'q=kittens&page=2', 'QSA: the new query before the old');
%e = cgi_env('/replace/kittens?page=2');
is($e{QUERY_STRING}, 'q=kittens', 'a new query replaces the old');
%e = cgi_env('/clean/x?utm=1');
is($e{QUERY_STRING} // '', '', 'QSD drops the query');

redirects('/old/a/b.html?x=1', 301, "http://127.0.0.1:$port/new/a/b.html?x=1", 'R=301 with the query kept');
redirects('/temp/t', 302, "http://127.0.0.1:$port/new/t", 'R alone is 302');
redirects('/external/p?q', 302, 'http://other.example/p?q', 'an absolute URL redirects without R');
redirects('/old/a%20b', 301, "http://127.0.0.1:$port/new/a%20b", 'the redirect path is escaped');
redirects('/item.php?id=42&x=y', 301, "http://127.0.0.1:$port/items/42", '%N from a condition, ? drops the query');
body_is('/forbidden/x', 403, undef, 'F is 403');
body_is('/gone', 410, undef, 'G is 410');

%e = cgi_env('/envset/here');
is($e{REWRITTEN}, 'yes', 'E= reaches CGI');
is($e{FROM}, '/envset/here', 'E= expands %{REQUEST_URI}');

my $r = body_is('/cookie', 200, "home\n", 'CO=');
like($r->{headers}{'set-cookie'} // '', qr/^visited=yes; path=\/; domain=127\.0\.0\.1; expires=\w\w\w, \d\d-\w\w\w-\d{4} [\d:]+ GMT; HttpOnly$/,
     'CO= sets the cookie with its attributes');
$r = body_is('/typed.dat', 200, "data\n", 'T=');
is($r->{headers}{'content-type'}, 'application/x-weft', 'T= sets the Content-Type');

%e = cgi_env('/handled/run?h=1');
is($e{QUERY_STRING}, 'h=1', 'H=cgi-script runs a file as a CGI script');
body_is('/skip/a', 200, "not skipped\n", 'S=1 skips the next rule');
body_is('/skip/b', 200, "skipped\n", 'without the skip');

%e = cgi_env('/dash/a-b-c');
is($e{QUERY_STRING}, 'd=a_b_c', 'N repeats the rules until no dash is left');
body_is('/loop/x', 500, undef, 'N=20 stops a loop with 500');
body_is('/grow/x', 500, undef, 'N with a growing URL stops with 500');
like($w->error_log, qr/exceeded maximum number of rounds \(20\) via the \[N\] flag/, 'the loop is logged');

%e = cgi_env('/b/a%20b%26c');
is($e{QUERY_STRING}, 'term=a+b%26c', 'B escapes the back-reference');
%e = cgi_env('/nob/a%20b%26c');
is($e{QUERY_STRING}, 'term=a b&c', 'without B the decoded text goes in as it is');

%e = cgi_env('/lower/MiXeD');
is($e{QUERY_STRING}, 'v=mixed', 'int:tolower');
%e = cgi_env('/upper/MiXeD');
is($e{QUERY_STRING}, 'v=MIXED', 'int:toupper');
%e = cgi_env('/product/widget');
is($e{QUERY_STRING}, 'id=gadget-42', 'txt: map');
%e = cgi_env('/product/nothing');
is($e{QUERY_STRING}, 'id=unknown', 'txt: map default');
$w->write_file('maps/products.txt', "widget changed-1\n");
utime(time + 5, time + 5, $w->path('maps/products.txt'));
%e = cgi_env('/product/widget');
is($e{QUERY_STRING}, 'id=changed-1', 'a changed txt: file is read again');
my %seen;
for (1 .. 30) {
    %e = cgi_env('/server');
    $seen{$e{QUERY_STRING}}++;
}
ok(keys(%seen) >= 2 && !grep({ !/^s=[abc]\.example$/ } keys %seen), 'rnd: picks among the values')
    or diag(join ' ', keys %seen);
%e = cgi_env('/shout/hello');
is($e{QUERY_STRING}, 'p=HELLO!', 'prg: map');
%e = cgi_env('/shout/again');
is($e{QUERY_STRING}, 'p=AGAIN!', 'prg: the same program answers again');
%e = cgi_env('/shout/quiet');
is($e{QUERY_STRING}, 'p=silent', 'prg: NULL means no value');

body_is('/level', 200, "low\n", '-ge: without the header');
body_is('/level', 200, "high\n", '-ge: 7 >= 5', headers => { 'X-Level' => '7' });
body_is('/level', 200, "low\n", '-ge: 3 < 5', headers => { 'X-Level' => '3' });
$r = body_is('/home', 200, "mobile\n", '[OR]: the second condition', headers => { 'X-Mobile' => 'yes' });
like($r->{headers}{vary} // '', qr/X-Mobile/, 'a header a condition read is in Vary');
body_is('/home', 200, "mobile\n", '[OR]: the first condition', headers => { 'User-Agent' => 'Mobile/1' });
body_is('/home', 404, undef, '[OR]: neither');
%e = cgi_env('/profile', host => 'alice.users.test');
is($e{QUERY_STRING}, 'user=alice', '%1 from HTTP_HOST');
body_is('/exprtest', 200, "high\n", 'RewriteCond expr', headers => { 'X-Expr' => 'go' });
body_is('/exprtest', 404, undef, 'RewriteCond expr, false', headers => { 'X-Expr' => 'stop' });
body_is('/now', 200, "now\n", 'TIME_YEAR, REMOTE_ADDR, SERVER_PORT, THE_REQUEST');

# ---- directory context ---------------------------------------------------------
body_is('/blog/2024/05/hello-world/', 200, "front controller\n", 'WordPress: a permalink');
body_is('/blog/style.css', 200, "css\n", 'WordPress: an existing file');
body_is('/blog/', 200, "front controller\n", 'WordPress: the directory index');
body_is('/blog/wp-admin/', 200, "admin\n", 'WordPress: an existing directory');
body_is('/blog/index.php', 200, "front controller\n", 'WordPress: the front controller itself');

body_is('/app/page/7', 200, "show\n", 'RewriteBase: a relative substitution');
redirects('/app/moved/x', 301, "http://127.0.0.1:$port/app/elsewhere/x", 'RewriteBase in a redirect');
body_is('/app/end', 200, "end2\n", 'END: the internal redirect is not rewritten again');
body_is('/app/last', 403, undef, 'L: the internal redirect goes through the rules again');
body_is('/app/self.txt', 200, "self\n", 'a rule rewriting to itself is ignored');
body_is('/app/ping-pong', 500, undef, 'internal redirects loop: 500');
like($w->error_log, qr/limit of 10 internal redirects/, 'the loop is logged');
body_is('/app/sub/own', 200, "own\n", 'a subdirectory\'s own rule');
body_is('/app/sub/page/3', 200, "sub show\n", 'Inherit: the parent\'s rules in the subdirectory');
%e = cgi_env('/cgi-bin/pretty/about?x=1', headers => { Authorization => 'Basic dTpw' });
is($e{QUERY_STRING}, 'page=about&x=1', 'per-directory rules in front of a CGI script');
is($e{AUTH}, 'Basic dTpw', 'E= from a header reaches the script');
is($e{REDIRECT_AUTH}, 'Basic dTpw', '... also as REDIRECT_AUTH, as Apache\'s internal redirect names it');
$r = $w->request("POST /cgi-bin/pretty/form HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nContent-Length: 5\r\n"
                 . "Connection: close\r\n\r\nhello");
%e = WeftCgi::parse_env($r->{body} // '');
is($e{REQUEST_METHOD}, 'POST', 'the internal redirect keeps the method');
is($e{'X-STDIN-LENGTH'}, 5, '... and the body');
body_is('/nobase/x', 200, "nobase y\n", 'without RewriteBase the document root is stripped');
body_is('/nosym/x', 403, undef, 'per-directory rules need FollowSymLinks');
like($w->error_log, qr/Options FollowSymLinks and SymLinksIfOwnerMatch are both off/, '... and say so');

# ---- virtual hosts ---------------------------------------------------------------
my $p2 = $w->port2;
my $p3 = $w->port_n(3);
my $p4 = $w->port_n(4);
body_is('/vonly', 200, "vhost only\n", 'a virtual host\'s rule', port => $p2, host => "vhost.test:$p2");
body_is('/gone', 404, undef, 'a virtual host does not inherit without Inherit', port => $p2, host => "vhost.test:$p2");
body_is('/gone', 404, undef, 'nor one without rules', port => $p3, host => "plain.test:$p3");
%e = cgi_env('/mapped/quiet', port => $p3, host => "plain.test:$p3");
is($e{QUERY_STRING}, 'v=QUIET', 'a virtual host\'s per-directory rules use the main server\'s maps');
body_is('/vonly', 404, undef, 'the main server has no such rule');
body_is('/gone', 200, "vhost only\n", 'Inherit: its own rules first', port => $p4, host => "inherit.test:$p4");
body_is('/forbidden', 403, undef, 'Inherit: then the main server\'s', port => $p4, host => "inherit.test:$p4");
my $p5 = $w->port_n(5);
body_is('/gone', 410, undef, 'InheritBefore: the main server\'s rules first', port => $p5, host => "before.test:$p5");
body_is('/vonly', 200, "vhost only\n", 'Inherit: and its own first', port => $p4, host => "inherit.test:$p4");

# ---- tracing -----------------------------------------------------------------------
my $log = $w->error_log;
like($log, qr/\[rewrite:trace3\] .*applying pattern '\^\/old\/\(\.\*\)\$' to uri '\/old\/a\/b\.html'/,
     'LogLevel rewrite:trace3 traces each pattern');
like($log, qr/\[rewrite:trace2\] .*rewrite '\/old\/a\/b\.html' -> '\/new\/a\/b\.html'/, '... and each rewrite');
like($log, qr/\[rewrite:trace3\] .*\[perdir .*\/www\/blog\/\] strip per-dir prefix/, '... and per-directory steps');
unlike($log, qr/\[(?!rewrite)\w+:trace/, 'other modules stay at the log\'s own level');

# ---- DUMP_CONFIG gives the lines back, and they are read again the same
my ($dump_code, $dump) = $w->run_weft($w->weft_args, '-D', 'DUMP_CONFIG');
is($dump_code, 0, 'DUMP_CONFIG');
like($dump, qr/^RewriteCond %\{HTTP:X-Level\} -ge5\nRewriteRule \^\/level\$ \/high\.txt \[L\]\n/m,
     'a condition is printed before its rule');
like($dump, qr/<Directory "?\Q@{[$w->root]}\E\/www\/blog"?>.*?RewriteBase \/blog\/.*?RewriteRule \. \/blog\/index\.php \[L\]/s,
     'a section\'s rules');
like($dump, qr/RewriteOptions InheritBefore/, 'a virtual host\'s options');

$w->stop;

# ---- configuration errors ------------------------------------------------------------
for my $case (
    [ 'RewriteRule ^/x http://backend/ [P]', qr/\[P\] flag .*mod_proxy/ ],
    [ 'RewriteRule ^/x /y [Q]', qr/unknown flag 'Q'/ ],
    [ 'RewriteRule ^/x /y [R=299]', qr/invalid HTTP response code '299'/ ],
    [ 'RewriteRule ^(x /y', qr/RewriteRule|regular expression|missing/i ],
    [ 'RewriteCond %{HTTP_HOST} ^x [XX]', qr/unknown flag 'XX'/ ],
    [ 'RewriteMap m dbm:/etc/x.db', qr/dbm maps are not supported/ ],
    [ 'RewriteMap m int:frobnicate', qr/internal map function 'frobnicate'/ ],
    [ 'RewriteMap m txt:/nonexistent/map.txt', qr/not found/ ],
    [ 'RewriteOptions Sideways', qr/unknown option 'Sideways'/ ],
    [ 'RewriteEngine Maybe', qr/On or Off/ ],
    [ 'RewriteCond expr "%{X} =="', qr/RewriteCond|expression|syntax/i ],
) {
    my ($line, $message) = @$case;
    my $t = WeftTest->new(conf => "$line\n");
    my ($code, $out, $err) = $t->check_config;
    isnt($code, 0, "-t refuses: $line");
    like("$out$err", $message, "... and says why: $line");
}

done_testing();
