#!/usr/bin/perl
# Response header fields from the configuration: Header (set, append, add,
# merge, setifempty, unset; onsuccess and always; the fields weft keeps
# apart: Content-Type, ETag, Last-Modified; merging across sections),
# AddCharset and AddDefaultCharset, ExpiresActive / ExpiresByType /
# ExpiresDefault.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(scale);

my $MTIME = 1700000000;

my $w = WeftTest->new(
    conf => <<'EOF',
TypesConfig conf/mime.types
Header set X-Everywhere "yes"
<Directory "@ROOT@/www/h">
    Header set X-Set "one"
    Header set X-Set "two"
    Header add X-Add "first"
    Header add X-Add "second"
    Header append X-Append "a"
    Header append X-Append "b"
    Header merge X-Merge "m1"
    Header merge X-Merge "m1"
    Header merge X-Merge "m2"
    Header setifempty X-Empty "filled"
    Header always set X-Always "always"
    Header onsuccess set X-Success "success"
    Header set X-Format "%t %D %%"
    Header set X-Quoted "a, \"b\""
    Header unset X-Everywhere
</Directory>
<Directory "@ROOT@/www/h/inner">
    Header set X-Set "inner"
    Header set X-Everywhere "back"
    Header append X-Append "c"
</Directory>
<Directory "@ROOT@/www/fields">
    Header unset ETag
    Header unset Last-Modified
    Header set Content-Type "application/x-special"
</Directory>
<Directory "@ROOT@/www/lm">
    Header append Last-Modified "x"
    Header set ETag "\"custom\""
</Directory>
<Location /cc>
    Header set Cache-Control "no-cache"
</Location>
<Directory "@ROOT@/www/charset">
    AddCharset UTF-8 .utf8
    AddCharset EUC-JP .euc .jis
    AddDefaultCharset On
</Directory>
<Directory "@ROOT@/www/charset/named">
    AddDefaultCharset utf-8
</Directory>
<Directory "@ROOT@/www/charset/named/off">
    AddDefaultCharset Off
</Directory>
<Directory "@ROOT@/www/exp">
    ExpiresActive On
    ExpiresByType text/html "access plus 1 hour"
    ExpiresByType image/* "modification plus 1 day"
    ExpiresDefault "access plus 10 minutes"
</Directory>
<Directory "@ROOT@/www/exp/short">
    ExpiresByType text/html A30
</Directory>
<Directory "@ROOT@/www/exp/off">
    ExpiresActive Off
</Directory>
<Directory "@ROOT@/www/exp/cc">
    Header set Cache-Control "public"
</Directory>
<Directory "@ROOT@/www/exp/ccmerge">
    Header merge Cache-Control "public"
</Directory>
<Directory "@ROOT@/www/exp/preset">
    Header set Expires "0"
</Directory>
EOF
    files => {
        'conf/mime.types'            => "text/html html\ntext/plain txt\nimage/png png\napplication/json json\n",
        'www/plain.txt'              => { content => "plain\n", mtime => $MTIME },
        'www/h/file.txt'             => { content => "h\n", mtime => $MTIME },
        'www/h/inner/file.txt'       => { content => "inner\n", mtime => $MTIME },
        'www/fields/file.txt'        => { content => "fields\n", mtime => $MTIME },
        'www/lm/file.txt'            => { content => "lm\n", mtime => $MTIME },
        'www/cc/file.txt'            => { content => "cc\n", mtime => $MTIME },
        'www/charset/page.utf8.html' => "utf8\n",
        'www/charset/page.html.utf8' => "utf8 last\n",
        'www/charset/page.euc.txt'   => "euc\n",
        'www/charset/page.html'      => "default\n",
        'www/charset/image.png'      => "png\n",
        'www/charset/data.json'      => "{}\n",
        'www/charset/named/page.txt' => "named\n",
        'www/charset/named/off/page.txt' => "off\n",
        'www/exp/page.html'          => { content => "html\n", mtime => $MTIME },
        'www/exp/image.png'          => { content => "png\n", mtime => time - 3600 },
        'www/exp/data.json'          => { content => "{}\n", mtime => $MTIME },
        'www/exp/short/page.html'    => { content => "short\n", mtime => $MTIME },
        'www/exp/short/image.png'    => { content => "png\n", mtime => time - 3600 },
        'www/exp/off/page.html'      => { content => "off\n", mtime => $MTIME },
        'www/exp/cc/page.html'       => { content => "cc\n", mtime => $MTIME },
        'www/exp/preset/page.html'   => { content => "preset\n", mtime => $MTIME },
        'www/exp/ccmerge/page.html'  => { content => "merge\n", mtime => $MTIME },
    },
);
$w->start;

sub values_of { my ($r, $name) = @_; return map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $r->{header_list} } }

# ---------------------------------------------------------------- Header
my $r = $w->get('/plain.txt');
is($r->{headers}{'x-everywhere'}, 'yes', 'a server-wide Header set');

$r = $w->get('/h/file.txt');
is($r->{status}, 200, 'the file in /h') or diag($r->summary);
is_deeply([values_of($r, 'X-Set')], ['two'], 'set replaces: the last one wins, once');
is_deeply([values_of($r, 'X-Add')], ['first', 'second'], 'add adds a field each time');
is_deeply([values_of($r, 'X-Append')], ['a, b'], 'append joins with ", "');
is_deeply([values_of($r, 'X-Merge')], ['m1, m2'], 'merge joins only values not there yet');
is($r->{headers}{'x-empty'}, 'filled', 'setifempty sets an absent field');
is($r->{headers}{'x-always'}, 'always', 'always applies to a 200');
is($r->{headers}{'x-success'}, 'success', 'onsuccess applies to a 200');
like($r->{headers}{'x-format'} // '', qr/^t=\d{16} D=\d+ %$/, '%t, %D and %% are expanded');
is($r->{headers}{'x-quoted'}, 'a, "b"', 'a quoted value keeps its quotes');
ok(!defined $r->{headers}{'x-everywhere'}, 'unset in a section removes the server-wide field');
my $t_value = ($r->{headers}{'x-format'} =~ /^t=(\d+)/)[0] // 0;
cmp_ok(abs($t_value / 1e6 - time), '<', 60, '%t is the request time in microseconds');

$r = $w->get('/h/inner/file.txt');
is_deeply([values_of($r, 'X-Set')], ['inner'], 'an inner section acts after the outer one');
is($r->{headers}{'x-everywhere'}, 'back', '... and can set again what the outer one unset');
is_deeply([values_of($r, 'X-Append')], ['a, b, c'], '... appending to its result');

$r = $w->get('/h/missing.txt');
is($r->{status}, 404, 'a 404 in /h');
is($r->{headers}{'x-always'}, 'always', 'always applies to an error');
ok(!defined $r->{headers}{'x-success'} && !defined $r->{headers}{'x-set'}, 'onsuccess (the default) does not');

my $etag = $w->get('/h/file.txt')->{headers}{etag};
$r = $w->get('/h/file.txt', 'If-None-Match' => $etag);
is($r->{status}, 304, 'a 304 in /h');
is($r->{headers}{'x-success'}, 'success', 'onsuccess applies to a 304, as in Apache');
is($r->{headers}{'x-always'}, 'always', 'always too');

$r = $w->get('/h/');
is($r->{status}, 403, 'a 403 in /h');
ok(!defined $r->{headers}{'x-set'}, 'no onsuccess fields on a 403');

# The fields weft keeps apart.
$r = $w->get('/fields/file.txt');
ok(!defined $r->{headers}{etag}, 'Header unset ETag');
ok(!defined $r->{headers}{'last-modified'}, 'Header unset Last-Modified');
is($r->{headers}{'content-type'}, 'application/x-special', 'Header set Content-Type');
is($r->header_count('Content-Type'), 1, '... once');
$r = $w->get('/lm/file.txt');
is($r->{headers}{'last-modified'}, 'Tue, 14 Nov 2023 22:13:20 GMT, x', 'Header append Last-Modified');
is($r->header_count('Last-Modified'), 1, '... still one field');
is($r->{headers}{etag}, '"custom"', 'Header set ETag');
$r = $w->get('/lm/file.txt', 'If-None-Match' => '"custom"');
is($r->{status}, 200, 'conditionals use the file\'s own ETag, Header only rewrites the field');

$r = $w->get('/cc/file.txt');
is($r->{headers}{'cache-control'}, 'no-cache', 'Header in a <Location>');

# ---------------------------------------------------------------- charsets
sub type_of { my $x = $w->get($_[0]); return $x->{headers}{'content-type'} // '(none)' }
is(type_of('/charset/page.utf8.html'), 'text/html; charset=UTF-8', 'AddCharset: any extension of the name counts');
is(type_of('/charset/page.euc.txt'), 'text/plain; charset=EUC-JP', 'AddCharset with several extensions');
is(type_of('/charset/page.html'), 'text/html; charset=iso-8859-1', 'AddDefaultCharset On: iso-8859-1 on text/html');
is(type_of('/charset/image.png'), 'image/png', 'AddDefaultCharset leaves other types alone');
is(type_of('/charset/data.json'), 'application/json', '... application/json too');
is(type_of('/charset/named/page.txt'), 'text/plain; charset=utf-8', 'AddDefaultCharset utf-8 on text/plain');
is(type_of('/charset/named/off/page.txt'), 'text/plain', 'AddDefaultCharset Off in an inner section');
is(type_of('/charset/missing.txt'), 'text/html; charset=iso-8859-1', 'an error page keeps its own charset');
is(type_of('/plain.txt'), 'text/plain', 'no charset without the directives');
$r = $w->get('/charset/page.html', Range => 'bytes=0-1,3-4');
like($r->{body}, qr{Content-Type: text/html; charset=iso-8859-1\r\n}, 'multipart parts carry the charset too');

# ---------------------------------------------------------------- expires
sub expires_delta {
    my ($x) = @_;
    my ($date, $expires) = ($x->{headers}{date}, $x->{headers}{expires});
    return undef unless defined $date && defined $expires;
    require Time::Local;
    my %mon = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5, Jul => 6, Aug => 7, Sep => 8,
               Oct => 9, Nov => 10, Dec => 11);
    my @t = map { /^\w+, (\d\d) (\w+) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/ ? Time::Local::timegm($6, $5, $4, $1, $mon{$2}, $3) : undef } ($date, $expires);
    return defined $t[0] && defined $t[1] ? $t[1] - $t[0] : undef;
}
$r = $w->get('/exp/page.html');
is($r->{headers}{'cache-control'}, 'max-age=3600', 'ExpiresByType text/html: max-age');
my $delta = expires_delta($r);
ok(defined $delta && abs($delta - 3600) <= 1, 'Expires is an hour after Date') or diag($r->summary);
$r = $w->get('/exp/image.png');
like($r->{headers}{'cache-control'} // '', qr/^max-age=(8279\d|8280\d)$/, 'image/* from modification: a day after the file');
$r = $w->get('/exp/data.json');
is($r->{headers}{'cache-control'}, 'max-age=600', 'ExpiresDefault for other types');
$r = $w->get('/exp/short/page.html');
is($r->{headers}{'cache-control'}, 'max-age=30', 'an inner ExpiresByType wins (A30)');
$r = $w->get('/exp/short/image.png');
like($r->{headers}{'cache-control'} // '', qr/^max-age=82\d\d\d$/, '... the outer rules still apply');
$r = $w->get('/exp/off/page.html');
ok(!defined $r->{headers}{expires} && !defined $r->{headers}{'cache-control'}, 'ExpiresActive Off in a section');
$r = $w->get('/exp/cc/page.html');
is($r->{headers}{'cache-control'}, 'public', 'Header set runs after mod_expires, as in Apache: it replaces');
ok(defined $r->{headers}{expires}, '... Expires stays');
$r = $w->get('/exp/ccmerge/page.html');
is($r->{headers}{'cache-control'}, 'max-age=3600, public', 'Header merge adds to the max-age of mod_expires');
$r = $w->get('/exp/preset/page.html');
is($r->{headers}{expires}, '0', 'an Expires set by Header is left alone');
$r = $w->get('/exp/missing.html');
ok(!defined $r->{headers}{expires}, 'no Expires on a 404');
$etag = $w->get('/exp/page.html')->{headers}{etag};
$r = $w->get('/exp/page.html', 'If-None-Match' => $etag);
is($r->{status}, 304, 'a 304 in /exp');
is($r->{headers}{'cache-control'}, 'max-age=3600', 'a 304 carries Cache-Control');
ok(defined $r->{headers}{expires}, '... and Expires (RFC 9110 15.4.5)');
$r = $w->get('/plain.txt');
ok(!defined $r->{headers}{expires}, 'no Expires without ExpiresActive');

$w->stop;

# ---------------------------------------------------------------- configuration
for my $bad ('Header set', 'Header frob X-A b', 'Header set X-A', 'Header set X-A b c', 'Header set "X A" b',
             'Header set X-A "%{HOME}x"', 'Header set X-A b env=!', 'Header edit X-A a b',
             'Header always', 'AddCharset UTF-8', 'AddCharset "UTF 8" .x', 'AddCharset UTF-8 .tar.gz',
             'ExpiresActive maybe', 'ExpiresByType text/html "later plus 1 day"',
             'ExpiresByType text/html "access plus 1 fortnight"', 'ExpiresByType html A60',
             'ExpiresDefault "access plus"x', 'ExpiresDefault "access plus 5"') {
    my $v = WeftTest->new(conf => "$bad\n");
    my ($code, $out, $err) = $v->check_config;
    isnt($code, 0, "'$bad' is a configuration error");
    like($out . $err, qr/weft\.conf:\d+:/, '... reported as file:line');
}
for my $managed ('Header set Server x', 'Header unset Date', 'Header set Content-Length 5') {
    my $v = WeftTest->new(conf => "$managed\n");
    my ($code, $out, $err) = $v->check_config;
    is($code, 0, "'$managed' is accepted");
    like($out . $err, qr/ignored: weft writes/, '... with a warning that it is ignored');
}
for my $good ('Header unset X-A', 'Header always setifempty X-A "v"', 'AddDefaultCharset utf-8',
              'ExpiresByType image/* M3600', 'ExpiresDefault "now plus 1 year 2 months"') {
    my $v = WeftTest->new(conf => "$good\n");
    my ($code) = $v->check_config;
    is($code, 0, "'$good' is accepted");
}

done_testing;
