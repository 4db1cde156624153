#!/usr/bin/perl
# Static files over HTTP/1.1: headers, HEAD, 404/403, directory redirects,
# DirectoryIndex, OPTIONS, 405, 501, conditional requests, MIME types.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(strftime);
use WeftTest qw(wait_for scale);

# The version the binary reports, for the Server field expectations.
my ($VERSION) = ((WeftTest->run_weft('-v'))[1] // '') =~ m{weft/(\d+\.\d+\.\d+)};
$VERSION //= '0.0.0';
my ($MAJOR, $MINOR) = split /\./, $VERSION;

my $MTIME = 1700000000;    # Tue, 14 Nov 2023 22:13:20 GMT
my $MTIME_TEXT = 'Tue, 14 Nov 2023 22:13:20 GMT';
my $index = "<!DOCTYPE html>\n<html><head><title>weft test</title></head><body>hello</body></html>\n";

my $w = WeftTest->new(
    conf => <<'EOF',
TypesConfig conf/test-mime.types
AddType text/x-added .added
AddType text/x-override .wtt2
DirectoryIndex missing.html index.htm index.html
EOF
    files => {
        'conf/test-mime.types'   => "# test types\ntext/html\thtml htm\ntext/css css\ntext/plain txt\n"
            . "application/x-weft-test wtt wtt2\nimage/png png\n",
        'www/index.html'         => { content => $index, mtime => $MTIME },
        'www/style.css'          => "body { color: black }\n",
        'www/notes.txt'          => "plain text\n",
        'www/data.wtt'           => "types config\n",
        'www/data.wtt2'          => "overridden\n",
        'www/x.added'            => "added\n",
        'www/UPPER.HTML'         => "<p>upper</p>\n",
        'www/image.png'          => "\x89PNG\r\n\x1a\n" . ("\0" x 100),
        'www/noext'              => "no extension\n",
        'www/empty.txt'          => "",
        'www/secret.txt'         => { content => "forbidden\n", mode => 0000 },
        'www/dir/index.html'     => "dir index\n",
        'www/both/index.htm'     => "htm wins\n",
        'www/both/index.html'    => "html loses\n",
        'www/noindex/file.txt'   => "x\n",
        'www/big.bin'            => { content => join('', map { chr($_ % 251) } 0 .. 300_000) },
    },
);
$w->start;
my $port = $w->port;

# ---------------------------------------------------------------- GET /
my $r = $w->get('/');
is($r->{status}, 200, 'GET / is 200') or diag($r->summary);
is($r->{version}, 'HTTP/1.1', 'the status line says HTTP/1.1');
is($r->{reason}, 'OK', 'reason phrase OK');
is($r->{body}, $index, 'GET / serves index.html');
like($r->{headers}{'content-type'} // '', qr{^text/html\b}, 'Content-Type text/html');
is($r->{headers}{'content-length'}, length $index, 'Content-Length is the file size');
like($r->{headers}{date} // '', qr/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/,
    'Date is an IMF-fixdate');
my $date_ok = 0;
if (($r->{headers}{date} // '') =~ /^\w+, (\d\d) (\w+) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/) {
    my %mon = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5, Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
    require Time::Local;
    my $t = Time::Local::timegm($6, $5, $4, $1, $mon{$2}, $3);
    $date_ok = abs($t - time) <= 5;
}
ok($date_ok, 'Date is the current time');
is($r->{headers}{server}, "weft/$VERSION (Unix)", 'Server with the default ServerTokens (Full)');
is($r->{headers}{'last-modified'}, $MTIME_TEXT, 'Last-Modified is the file mtime as an IMF-fixdate');
my $etag = $r->{headers}{etag};
like($etag // '', qr/^(W\/)?"[^"]+"$/, 'ETag is a quoted entity tag');
is($r->header_count('Content-Length'), 1, 'exactly one Content-Length');
is($r->header_count('Date'), 1, 'exactly one Date');
ok(!defined $r->{headers}{'transfer-encoding'}, 'no Transfer-Encoding on a file response');

$r = $w->get('/index.html');
is($r->{headers}{etag}, $etag, 'the same file has the same ETag');
is($r->{body}, $index, 'GET /index.html serves the same file');

$r = $w->get('/big.bin');
is(length($r->{body} // ''), 300_001, 'a 300 KB file arrives whole');
is($r->{body}, join('', map { chr($_ % 251) } 0 .. 300_000), '... with the right bytes');

$r = $w->get('/empty.txt');
is($r->{status}, 200, 'an empty file is 200');
is($r->{headers}{'content-length'}, '0', '... with Content-Length: 0');

# ---------------------------------------------------------------- HEAD
{
    my $g = $w->get('/index.html');
    my $h = $w->head('/index.html');
    is($h->{status}, 200, 'HEAD is 200') or diag($h->summary);
    for my $field (qw(content-type content-length last-modified etag server)) {
        is($h->{headers}{$field}, $g->{headers}{$field}, "HEAD has the same $field as GET");
    }
    # Read to the end of the connection: nothing may follow the head.
    my $sock = $w->connect;
    WeftTest::send_raw($sock, "HEAD /index.html HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
    my $hr = WeftTest::read_response($sock, method => 'HEAD');
    my ($state, undef, $extra) = WeftTest::wait_closed($sock, scale(5));
    is($state, 'closed', 'HEAD: no body bytes follow the head, then the connection closes')
        or diag("state $state, extra bytes: " . ($extra // ''));
}

# ---------------------------------------------------------------- errors
$r = $w->get('/nope.html');
is($r->{status}, 404, 'a missing file is 404');
like($r->{headers}{'content-type'} // '', qr{^text/html\b}, '404 has an HTML body');
like($r->{body} // '', qr/<html/i, '404 body is a small HTML page');
cmp_ok(length($r->{body} // ''), '<', 2048, '404 body is small');
is($r->{headers}{'content-length'}, length($r->{body} // ''), '404 has a correct Content-Length');

$r = $w->get('/noindex/');
is($r->{status}, 403, 'a directory without an index and without Options Indexes is 403') or diag($r->summary);
like($r->{body} // '', qr/<html/i, '403 body is a small HTML page');

# (children never run as root: as root they run as User, by default nobody)
$r = $w->get('/secret.txt');
is($r->{status}, 403, 'an unreadable file (mode 000) is 403') or diag($r->summary);

# ---------------------------------------------------------------- directories
$r = $w->get('/dir');
is($r->{status}, 301, 'a directory without its trailing slash is 301') or diag($r->summary);
is($r->{headers}{location}, "http://127.0.0.1:$port/dir/", '... with an absolute Location built from Host');
like($r->{body} // '', qr/<html/i, '301 has a small HTML body');

$r = $w->get('/dir?a=1&b=2');
is($r->{headers}{location}, "http://127.0.0.1:$port/dir/?a=1&b=2", 'the redirect keeps the query string');

$r = $w->request("GET /dir HTTP/1.0\r\n\r\n");
like($r->{headers}{location} // '', qr{^http://[^/]+/dir/$}, 'HTTP/1.0 without Host still gets an absolute Location');

$r = $w->get('/dir/');
is($r->{body}, "dir index\n", 'DirectoryIndex serves dir/index.html');
$r = $w->get('/both/');
is($r->{body}, "htm wins\n", 'DirectoryIndex: the first existing name in the list wins');

# ---------------------------------------------------------------- methods
$r = $w->request("OPTIONS /index.html HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
is($r->{status}, 200, 'OPTIONS on a file is 200') or diag($r->summary);
my %allow = map { $_ => 1 } split /\s*,\s*/, ($r->{headers}{allow} // '');
ok($allow{GET} && $allow{HEAD} && $allow{OPTIONS}, 'OPTIONS: Allow lists GET, HEAD, OPTIONS')
    or diag('Allow: ' . ($r->{headers}{allow} // '(none)'));
ok(!$allow{POST} && !$allow{PUT} && !$allow{DELETE}, 'OPTIONS: Allow does not list POST, PUT, DELETE for a file');

$r = $w->request("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
is($r->{status}, 200, 'OPTIONS * is 200') or diag($r->summary);

for my $method (qw(POST PUT DELETE PATCH)) {
    $r = $w->request("$method /index.html HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    is($r->{status}, 405, "$method on a static file is 405") or diag($r->summary);
    like($r->{headers}{allow} // '', qr/\bGET\b/, "405 for $method carries Allow");
}
$r = $w->request("TRACE /index.html HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
ok(defined $r->{status} && ($r->{status} == 405 || $r->{status} == 501), 'TRACE is refused (405 or 501)')
    or diag($r->summary);

$r = $w->request("FOO /index.html HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
is($r->{status}, 501, 'an unknown method is 501') or diag($r->summary);
$r = $w->request("get /index.html HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
is($r->{status}, 501, 'methods are case-sensitive: "get" is an unknown method (501)') or diag($r->summary);

# ---------------------------------------------------------------- conditional requests
$r = $w->get('/index.html', 'If-None-Match' => $etag);
is($r->{status}, 304, 'If-None-Match with the current ETag is 304') or diag($r->summary);
is($r->{body}, '', '304 has no body');
is($r->{headers}{etag}, $etag, '304 carries the ETag');
$r = $w->get('/index.html', 'If-None-Match' => qq{"other", $etag});
is($r->{status}, 304, 'If-None-Match with a list containing the ETag is 304');
$r = $w->get('/index.html', 'If-None-Match' => '*');
is($r->{status}, 304, 'If-None-Match: * on an existing file is 304 for GET');
$r = $w->get('/index.html', 'If-None-Match' => '"does-not-match"');
is($r->{status}, 200, 'If-None-Match with another ETag is 200');
$r = $w->head('/index.html', 'If-None-Match' => $etag);
is($r->{status}, 304, 'HEAD with a matching If-None-Match is 304');

$r = $w->get('/index.html', 'If-Modified-Since' => $MTIME_TEXT);
is($r->{status}, 304, 'If-Modified-Since equal to Last-Modified is 304') or diag($r->summary);
$r = $w->get('/index.html', 'If-Modified-Since' => 'Wed, 15 Nov 2023 00:00:00 GMT');
is($r->{status}, 304, 'If-Modified-Since after Last-Modified is 304');
$r = $w->get('/index.html', 'If-Modified-Since' => 'Mon, 13 Nov 2023 00:00:00 GMT');
is($r->{status}, 200, 'If-Modified-Since before Last-Modified is 200');
$r = $w->get('/index.html', 'If-Modified-Since' => 'Tuesday, 14-Nov-23 22:13:20 GMT');
is($r->{status}, 304, 'If-Modified-Since in the obsolete RFC 850 form is understood');
$r = $w->get('/index.html', 'If-Modified-Since' => 'not a date');
is($r->{status}, 200, 'an invalid If-Modified-Since is ignored');
$r = $w->get('/index.html', 'If-None-Match' => '"does-not-match"', 'If-Modified-Since' => $MTIME_TEXT);
is($r->{status}, 200, 'If-None-Match takes precedence over If-Modified-Since (RFC 9110 13.2.2)');

# ---------------------------------------------------------------- MIME types
sub type_of { my $x = $w->get($_[0]); return $x->{headers}{'content-type'} // '(none)' }
like(type_of('/style.css'), qr{^text/css\b}, 'TypesConfig: .css is text/css');
like(type_of('/notes.txt'), qr{^text/plain\b}, 'TypesConfig: .txt is text/plain');
like(type_of('/image.png'), qr{^image/png$}, 'TypesConfig: .png is image/png');
like(type_of('/data.wtt'), qr{^application/x-weft-test$}, 'TypesConfig: a type only the configured file knows');
like(type_of('/x.added'), qr{^text/x-added\b}, 'AddType adds a type');
like(type_of('/data.wtt2'), qr{^text/x-override\b}, 'AddType wins over TypesConfig');
like(type_of('/UPPER.HTML'), qr{^text/html\b}, 'extensions match case-insensitively');

# ---------------------------------------------------------------- request forms
$r = $w->request("GET /index.html HTTP/1.0\r\n\r\n");
is($r->{status}, 200, 'HTTP/1.0 without Host is 200');
is($r->{version}, 'HTTP/1.1', 'the response to HTTP/1.0 still says HTTP/1.1');
$r = $w->request("GET /index.html?x=1&y=%20 HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
is($r->{body}, $index, 'a query string does not change the file served');
$r = $w->request("\r\nGET /index.html HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
is($r->{status}, 200, 'an empty line before the request line is ignored (RFC 9112 2.2)');

$w->stop;

# ---------------------------------------------------------------- ServerTokens
for my $case (['Prod', 'weft'], ['Major', "weft/$MAJOR"], ['Minor', "weft/$MAJOR.$MINOR"],
              ['Minimal', "weft/$VERSION"], ['OS', "weft/$VERSION (Unix)"]) {
    my ($tokens, $expect) = @$case;
    my $v = WeftTest->new(conf => "ServerTokens $tokens\n", files => { 'www/index.html' => "x\n" });
    $v->start;
    my $x = $v->get('/');
    is($x->{headers}{server}, $expect, "ServerTokens $tokens gives Server: $expect") or diag($x->summary);
    $v->stop(name => "ServerTokens $tokens server");
}

done_testing;
