#!/usr/bin/perl
# How a URL becomes a file and a response, as Apache's configuration
# language says: <Files>/<FilesMatch>/<Location> apply to the file
# DirectoryIndex chose (looked up as a sub-request: Apache's 403 for
# <Files index.html> Require ip ...), mod_dir's FallbackResource and
# DirectorySlash, mod_mime's ForceType, mod_alias's Redirect family inside
# <Location> and <Directory>, ServerName with a scheme and UseCanonicalName
# for self-referential URLs, and the -t warning for Options Includes.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest;

my $w = WeftTest->new(
    conf => <<'EOF',
ServerName https://www.example.com:8443
DirectoryIndex index.html
<IfModule dir_module>
    DirectoryIndex index.html
</IfModule>
<IfModule !mod_dir.c>
    Redirect /ifmodule-false http://example.com/
</IfModule>
# Apache's example: the index of /admin/ only for the intranet.
<Directory "@ROOT@/www/admin">
    <Files index.html>
        Require ip 10.0.0.0/8
    </Files>
</Directory>
<Directory "@ROOT@/www/matched">
    DirectoryIndex start.html
</Directory>
<FilesMatch "^st[a-z]rt\.html$">
    Require all denied
</FilesMatch>
<Location /byloc/index.html>
    Require all denied
</Location>
<Directory "@ROOT@/www/second">
    DirectoryIndex secret.html index.html
    <Files secret.html>
        Require all denied
    </Files>
</Directory>
<Directory "@ROOT@/www/nolist">
    Options +Indexes
    DirectoryIndex secret.html
    <Files secret.html>
        Require all denied
    </Files>
</Directory>
<Directory "@ROOT@/www/app">
    FallbackResource /app/front.html
</Directory>
<Directory "@ROOT@/www/app/plain">
    FallbackResource disabled
</Directory>
<Directory "@ROOT@/www/noslash">
    DirectorySlash Off
</Directory>
<Directory "@ROOT@/www/noslashlist">
    Options +Indexes
    DirectorySlash Off
</Directory>
<Directory "@ROOT@/www/ft">
    ForceType text/plain
    <Files keep.html>
        ForceType None
    </Files>
</Directory>
<Location /moved>
    Redirect 301 https://new.example/
</Location>
RedirectMatch 302 ^/srvq/(.*)$ /found/$1
<Location /temp>
    Redirect http://new.example/t?x=1
</Location>
<Location /retired>
    Redirect gone
</Location>
<Directory "@ROOT@/www/olddir">
    Redirect /olddir/a http://x.example/b
    RedirectMatch 301 ^/olddir/(\d+)$ /numbers/$1
    RedirectPermanent /olddir/p /perm
    RedirectMatch 302 ^/olddir/q/(.*)$ /found/$1
</Directory>
<Directory "@ROOT@/www/cgidir">
    Options +ExecCGI
    AddHandler cgi-script .cgi
    DirectoryIndex index.cgi
</Directory>
<Directory "@ROOT@/www/canon">
    UseCanonicalName On
</Directory>
<Location /dnsname>
    UseCanonicalName DNS
</Location>
EOF
    files => {
        'www/index.html'               => "root\n",
        'www/admin/index.html'         => "admin index\n",
        'www/admin/other.html'         => "admin other\n",
        'www/matched/start.html'       => "matched\n",
        'www/byloc/index.html'         => "byloc\n",
        'www/open/index.html'          => "open index\n",
        'www/second/secret.html'       => "secret\n",
        'www/second/index.html'        => "second index\n",
        'www/nolist/secret.html'       => "secret\n",
        'www/nolist/a.txt'             => "a\n",
        'www/app/front.html'           => "front controller\n",
        'www/app/real.txt'             => "real\n",
        'www/app/plain/x.txt'          => "x\n",
        'www/noslash/index.html'       => "noslash index\n",
        'www/noslashlist/index.html'   => "noslashlist index\n",
        'www/ft/page.html'             => "<p>forced</p>\n",
        'www/ft/keep.html'             => "<p>kept</p>\n",
        'www/olddir/f.txt'             => "f\n",
        'www/canon/sub/index.html'     => "canon\n",
        'www/dnsname/sub/index.html'   => "dns\n",
        'www/slashdir/index.html'      => "slashdir\n",
        'www/cgidir/index.cgi'         => { mode => 0755, content =>
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s %s\\n' \"\$REQUEST_METHOD\" \"\$SCRIPT_NAME\"\n" },
    },
);
$w->start;
my $port = $w->port;

sub fetch {
    my ($target, %o) = @_;
    my $host = exists $o{host} ? $o{host} : "127.0.0.1:$port";
    my $raw = "GET $target HTTP/1.1\r\n" . (defined $host ? "Host: $host\r\n" : '') . "Connection: close\r\n\r\n";
    $raw = "GET $target HTTP/1.0\r\n\r\n" if $o{http10};
    return $w->request($raw);
}

sub answer {
    my ($target, %o) = @_;
    my $r = fetch($target, %o);
    return ($r->{status} // 0) . ' ' . ($r->{headers}{location} // '-');
}

# ---- <Files> and the file DirectoryIndex chose
my $r = fetch('/admin/');
is($r->{status}, 403, '<Files index.html> Require ip applies to the index DirectoryIndex chose (Apache: 403)');
unlike($r->{body} // '', qr/admin index/, '... and its content is not sent');
is(fetch('/admin/index.html')->{status}, 403, '... as to the file itself');
is(fetch('/admin/other.html')->{status}, 200, '... while the other files of the directory are served');
is(fetch('/matched/')->{status}, 403, '<FilesMatch> applies to the chosen index too');
is(fetch('/byloc/')->{status}, 403, 'a <Location> of the index URL applies too');
$r = fetch('/open/');
is("$r->{status} $r->{body}", "200 open index\n", 'an index without sections is served');
$r = fetch('/second/');
is("$r->{status} $r->{body}", "200 second index\n", 'a refused index name gives way to the next that passes');
$r = fetch('/nolist/');
is($r->{status}, 403, 'a refused index name is not replaced by a listing (Apache: its status)');
unlike($r->{body} // '', qr/a\.txt/, '... no listing leaks');

$r = fetch('/cgidir/');
is("$r->{status} $r->{body}", "200 GET /cgidir/index.cgi\n", 'an index with a handler of its own (CGI) serves the directory');
$r = $w->request("POST /cgidir/ HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
is("$r->{status} $r->{body}", "200 POST /cgidir/index.cgi\n", '... also for a POST, as after Apache\'s mod_dir');
is(fetch('/open/', )->{status}, 200, 'a static index still answers GET');
$r = $w->request("POST /open/ HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
is($r->{status}, 405, '... and a POST to a static index is 405');

# ---- FallbackResource
$r = fetch('/app/no/such/page?x=1');
is("$r->{status} $r->{body}", "200 front controller\n", 'FallbackResource serves a URL that maps to no file');
$r = fetch('/app/real.txt');
is("$r->{status} $r->{body}", "200 real\n", '... but not one that does');
is(fetch('/app/plain/missing')->{status}, 404, 'FallbackResource disabled turns the inherited one off');
is(fetch('/elsewhere-missing')->{status}, 404, 'outside its directory a missing file is a 404');

# ---- DirectorySlash
is(answer('/slashdir'), "301 https://127.0.0.1:$port/slashdir/",
   'DirectorySlash On (default): 301 to the slash URL (scheme from ServerName, host from Host)');
$r = fetch('/noslash');
is(($r->{status} // 0) . ' ' . ($r->{headers}{location} // '-'), '403 -',
   'DirectorySlash Off: no redirect, and no index for the slash-less URL (403 without Indexes)');
$r = fetch('/noslash/');
is("$r->{status} $r->{body}", "200 noslash index\n", '... the slash URL still gets its index');
$r = fetch('/noslashlist');
is($r->{status}, 200, 'DirectorySlash Off with Indexes: the listing, as Apache');
like($r->{body} // '', qr/Index of/, '... a listing, not the index file');

# ---- ForceType
$r = fetch('/ft/page.html');
like($r->{headers}{'content-type'} // '', qr{^text/plain\b}, 'ForceType gives every file the type');
$r = fetch('/ft/keep.html');
like($r->{headers}{'content-type'} // '', qr{^text/html\b}, 'ForceType None: the extension decides again');

# ---- Redirect in sections
is(answer('/moved/deep/x.html'), '301 https://new.example/', 'Redirect 301 URL in a <Location>: the whole section');
is(answer('/temp/y?q=2'), '302 http://new.example/t?x=1', 'Redirect URL in a <Location>: 302, own query kept');
is(fetch('/retired/z')->{status}, 410, 'Redirect gone in a <Location>');
is(answer('/olddir/a/c?z=1'), '302 http://x.example/b/c?z=1', 'Redirect URL-path URL in a <Directory>');
is(answer('/olddir/42'), "301 https://127.0.0.1:$port/numbers/42",
   'RedirectMatch in a <Directory> (PCRE \\d, a local target made absolute)');
is(answer('/olddir/p'), "301 https://127.0.0.1:$port/perm", 'RedirectPermanent in a <Directory>');
my $split = fetch('/olddir/q/a%3Fb%0d%0aSet-Cookie:%20evil=1');
is($split->{headers}{'set-cookie'}, undef, 'RedirectMatch $1 with a decoded ? and CR LF: no injected field');
is("$split->{status} " . ($split->{headers}{location} // '-'),
   "302 https://127.0.0.1:$port/found/a?b%0D%0ASet-Cookie:%20evil=1",
   '... the control characters and blanks after the ? are escaped in Location');
$split = fetch('/srvq/a%3Fb%0d%0aSet-Cookie:%20evil=1');
is($split->{headers}{'set-cookie'}, undef, 'the same with a server-level RedirectMatch');
is("$split->{status} " . ($split->{headers}{location} // '-'),
   "302 https://127.0.0.1:$port/found/a?b%0D%0ASet-Cookie:%20evil=1", '... escaped in Location');
is(fetch('/olddir/f.txt')->{status}, 200, 'what no section rule matches is served');
is(answer('/ifmodule-false'), '404 -', '<IfModule dir_module> and <IfModule !mod_dir.c> know the dir module');

# ---- ServerName with a scheme, UseCanonicalName
is(answer('/canon/sub'), '301 https://www.example.com:8443/canon/sub/',
   'UseCanonicalName On: ServerName\'s scheme, host and port');
is(answer('/dnsname/sub', host => 'example.org'), '301 https://127.0.0.1:8443/dnsname/sub/',
   'UseCanonicalName DNS (in a <Location>): the local address (no DNS lookup), ServerName\'s port');
is(answer('/slashdir', host => 'example.org'), '301 https://example.org:8443/slashdir/',
   'UseCanonicalName Off: the Host name; ServerName\'s port when Host has none (Apache, not the local port)');
is(answer('/slashdir', host => 'example.org:443'), '301 https://example.org/slashdir/',
   '... the scheme\'s default port is left out');
is(answer('/slashdir', http10 => 1), '301 https://www.example.com:8443/slashdir/',
   'no Host: ServerName\'s host and port');
$w->stop;

# ---- DUMP_CONFIG shows the section redirects and reads back
my ($dump_code, $dump) = $w->run_weft($w->weft_args, '-D', 'DUMP_CONFIG');
is($dump_code, 0, 'DUMP_CONFIG');
like($dump, qr{<Location /moved>\n\s+Redirect 301 https://new\.example/\n}, '... the whole-section Redirect');
like($dump, qr{^\s+RedirectPermanent /olddir/p /perm$}m, '... a RedirectPermanent in a <Directory>');
like($dump, qr{^\s+FallbackResource /app/front\.html$}m, '... FallbackResource');

# ---- -t: Options Includes has no effect
my $t = WeftTest->new(conf => "<Directory \"\@ROOT\@/www\">\n    Options +Includes\n</Directory>\nOptions IncludesNOEXEC\n",
                      files => { 'www/index.html' => "x\n" });
my ($code, $out, $err) = $t->check_config;
is($code, 0, 'Options Includes passes -t');
my $file = $t->conf_path;
like($err, qr/^WARNING: \Q$file\E:2: .*Includes has no effect in weft/m, '... with a warning at file:line');
like($err, qr/^WARNING: \Q$file\E:4: .*IncludesNOEXEC has no effect in weft/m, '... IncludesNOEXEC too');

$t = WeftTest->new(conf => "Redirect /a\n", files => { 'www/index.html' => "x\n" });
($code, $out, $err) = $t->check_config;
isnt($code, 0, 'at server level Redirect still needs a URL-path and a URL');
$t = WeftTest->new(conf => "<Location /x>\n    Redirect %{REQUEST_URI}\n</Location>\n", files => { 'www/index.html' => "x\n" });
($code, $out, $err) = $t->check_config;
isnt($code, 0, 'an Apache expression in a section Redirect is refused at -t');
$t = WeftTest->new(conf => "ForceType text/plain\n", files => { 'www/index.html' => "x\n" });
($code, $out, $err) = $t->check_config;
isnt($code, 0, 'ForceType is for sections only (Apache: directory context)');

# ServerName is checked when read: a wrong port or scheme would otherwise
# show in every self-referential URL.
for my $case (['ftp://x.example', qr/the scheme must be http or https/],
              ['x.example:99999', qr/the port must be a number from 1 to 65535/],
              [':80', qr/the host name is missing/],
              ['[::1', qr/needs its closing/]) {
    my ($name, $re) = @$case;
    $t = WeftTest->new(conf => "ServerName $name\n", files => { 'www/index.html' => "x\n" });
    ($code, $out, $err) = $t->check_config;
    my $conf = $t->conf_path;
    isnt($code, 0, "ServerName $name is refused at -t");
    like($err, qr/^\Q$conf\E:1: ServerName .*$re/m, '... saying why, at file:line');
}

done_testing();
