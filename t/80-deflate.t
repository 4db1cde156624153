#!/usr/bin/perl
# On-the-fly compression: the DEFLATE and BROTLI_COMPRESS output filters
# (mod_deflate, mod_brotli) switched on by Debian's stock deflate.conf,
# SetOutputFilter and AddOutputFilter.  Every compressed body is
# decompressed and compared with the file; the header fields (Vary,
# Content-Encoding, ETag, Content-Length, Transfer-Encoding, Accept-Ranges)
# are checked for chunked, HTTP/1.0, HEAD, 206 and 304 responses.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use POSIX qw(strftime);
use WeftTest qw(scale send_raw read_response);

# brotli: Debian's command-line tool (package brotli), installed when
# missing and we may; otherwise the brotli cases fail, they are not skipped.
my $BROTLI = -x '/usr/bin/brotli' ? '/usr/bin/brotli' : undef;
if (!$BROTLI && $> == 0) {
    system('apt-get install -y brotli >/dev/null 2>&1');
    $BROTLI = '/usr/bin/brotli' if -x '/usr/bin/brotli';
}

my $MTIME = 1700000000;
my $words = join(' ', map { ('alpha', 'beta', '<p>gamma</p>', 'delta', "epsilon $_\n")[$_ % 5] . $_ } 1 .. 60000);
my $big = "<html><body>\n$words</body></html>\n";    # ~700 KiB: many DeflateBufferSize steps, not file-cached
my $small = "<p>small and hot</p>\n" x 200;             # file-cached: the compressed-variant cache path
my $text = "plain text file\n" x 500;
# 10 MiB that does not compress: the socket fills, and the server must wait
# with at most one step's buffers.
my $huge = '';
{
    my $state = 12345;
    my @block;
    for (1 .. 16384) { $state = ($state * 1103515245 + 12345) & 0x7fffffff; push @block, $state }
    my $block = pack('N*', @block);    # 64 KiB
    for my $i (1 .. 160) { $huge .= pack('N', $i) . substr($block, 4) }
}
my $binary = join('', map { chr(($_ * 7919) % 256) } 1 .. 5000);

# Debian's /etc/apache2/mods-available/deflate.conf, as shipped (a copy:
# the test does not read /etc).
my $debian_deflate_conf = <<'EOF';
<IfModule mod_filter.c>
	AddOutputFilterByType DEFLATE text/html text/plain text/xml text/css text/javascript
	AddOutputFilterByType DEFLATE application/x-javascript application/javascript application/ecmascript
	AddOutputFilterByType DEFLATE application/rss+xml
	AddOutputFilterByType DEFLATE application/wasm
	AddOutputFilterByType DEFLATE application/xml
</IfModule>
EOF

my $w = WeftTest->new(
    conf => <<'EOF',
TypesConfig conf/mime.types
<IfModule mod_deflate.c>
    Include conf/deflate.conf
</IfModule>
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
LogFormat "%U %>s %b" bytes
CustomLog logs/bytes_log bytes
<Directory "@ROOT@/www/both">
    SetOutputFilter BROTLI_COMPRESS;DEFLATE
</Directory>
<Directory "@ROOT@/www/ext">
    AddOutputFilter DEFLATE .data
</Directory>
<Directory "@ROOT@/www/nogzip">
    SetEnv no-gzip 1
</Directory>
<Directory "@ROOT@/www/htmlonly">
    SetEnv gzip-only-text/html 1
</Directory>
<Directory "@ROOT@/www/pre">
    PrecompressedGzip On
</Directory>
<VirtualHost *:@PORT@>
    ServerName default.test
    DocumentRoot "@ROOT@/www"
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName etag.test
    DocumentRoot "@ROOT@/www"
    DeflateAlterETag NoChange
    BrotliAlterETag Remove
    DeflateCompressionLevel 1
    BrotliCompressionQuality 11
    BrotliCompressionWindow 22
</VirtualHost>
EOF
    files => {
        'conf/mime.types'      => "text/plain txt\ntext/html html\napplication/octet-stream bin data\n",
        'conf/deflate.conf'    => $debian_deflate_conf,
        'www/big.html'         => { content => $big, mtime => $MTIME },
        'www/small.html'       => { content => $small, mtime => $MTIME },
        'www/a.txt'            => { content => $text, mtime => $MTIME },
        'www/b.bin'            => { content => $binary, mtime => $MTIME },
        'www/both/big.html'    => { content => $big, mtime => $MTIME },
        'www/both/small.html'  => { content => $small, mtime => $MTIME },
        'www/ext/x.data'       => { content => $text, mtime => $MTIME },
        'www/nogzip/a.txt'     => { content => $text, mtime => $MTIME },
        'www/htmlonly/a.txt'   => { content => $text, mtime => $MTIME },
        'www/htmlonly/s.html'  => { content => $small, mtime => $MTIME },
        'www/pre/a.txt'        => { content => $text, mtime => $MTIME },
        'www/huge.txt'         => { content => $huge, mtime => $MTIME },
        'www/pre/a.txt.gz'     => { content => 'NOT REALLY GZIP', mtime => $MTIME },
        'cgi-bin/out.cgi'      => { mode => 0755, content => <<'EOF' },
#!/usr/bin/perl
$| = 1;
print "Content-Type: text/plain\r\n\r\n";
print "line $_ of the script's output\n" for 1 .. 5000;
EOF
    },
);
$w->start;

sub gunzipped {
    my ($data) = @_;
    my $out;
    gunzip(\$data, \$out) or return "gunzip failed: $GunzipError";
    return $out;
}

sub unbrotli {
    my ($data) = @_;
    return 'no brotli tool (install Debian package brotli)' unless $BROTLI;
    my $in = $w->path('logs/br.in');
    open my $fh, '>:raw', $in or die $!;
    print $fh $data;
    close $fh;
    my $out = `$BROTLI -d -c $in 2>&1`;
    return $out;
}

sub check_identity {
    my ($r, $expected, $name) = @_;
    is($r->{status}, 200, "$name: 200") or diag($r->{error} // $r->{raw});
    ok(!defined $r->{headers}{'content-encoding'}, "$name: no Content-Encoding");
    is($r->{headers}{'content-length'}, length $expected, "$name: Content-Length");
    ok($r->{body} eq $expected, "$name: the file's bytes");
}

# ---------------------------------------------------------------- gzip, Debian's deflate.conf
{
    my $r = $w->get('/big.html', 'Accept-Encoding' => 'gzip');
    is($r->{status}, 200, 'big.html gzip: 200') or diag($r->{error} // '');
    is($r->{headers}{'content-encoding'}, 'gzip', 'Content-Encoding: gzip');
    is($r->{headers}{'transfer-encoding'}, 'chunked', 'chunked (the length is unknown)');
    ok(!defined $r->{headers}{'content-length'}, 'no Content-Length');
    ok(!defined $r->{headers}{'accept-ranges'}, 'no Accept-Ranges');
    is($r->{headers}{vary}, 'Accept-Encoding', 'Vary: Accept-Encoding');
    like($r->{headers}{etag} // '', qr/^"[^"]+-gzip"$/, 'ETag with -gzip (DeflateAlterETag AddSuffix)');
    cmp_ok(length $r->{body}, '<', length($big) / 2, 'it is compressed');
    ok(gunzipped($r->{body}) eq $big, 'gunzipped: the file');
    my $sent = length $r->{body};
    ok(WeftTest::wait_for(sub { ($w->read_file('logs/bytes_log') // '') =~ m{^/big\.html 200 $sent$}m }, scale(5)),
       '%b: the compressed bytes, without the chunk framing');

    my $plain = $w->get('/big.html');
    check_identity($plain, $big, 'no Accept-Encoding');
    is($plain->{headers}{vary}, 'Accept-Encoding', 'identity: Vary: Accept-Encoding too');
    is($plain->{headers}{'accept-ranges'}, 'bytes', 'identity: Accept-Ranges');
    (my $bare = $r->{headers}{etag} // '') =~ s/-gzip"$/"/;
    is($plain->{headers}{etag}, $bare, 'identity: the ETag without the suffix');

    check_identity($w->get('/big.html', 'Accept-Encoding' => 'gzip;q=0'), $big, 'gzip;q=0');
    check_identity($w->get('/big.html', 'Accept-Encoding' => 'br'), $big, 'only br, DEFLATE configured');
    is($w->get('/big.html', 'Accept-Encoding' => 'deflate, gzip;q=0.5')->{headers}{'content-encoding'}, 'gzip',
       'gzip;q=0.5: gzip');

    my $t = $w->get('/a.txt', 'Accept-Encoding' => 'gzip');
    is($t->{headers}{'content-encoding'}, 'gzip', 'text/plain by type: gzip');
    ok(gunzipped($t->{body}) eq $text, 'text/plain gunzipped');
    check_identity($w->get('/b.bin', 'Accept-Encoding' => 'gzip'), $binary, 'application/octet-stream not by type');
    ok(!defined $w->get('/b.bin', 'Accept-Encoding' => 'gzip')->{headers}{vary}, 'not by type: no Vary');
}

# ---------------------------------------------------------------- the compressed-variant cache
for my $round (1 .. 3) {
    my $r = $w->get('/small.html', 'Accept-Encoding' => 'gzip');
    is($r->{headers}{'content-encoding'}, 'gzip', "cached small.html ($round): gzip");
    ok(defined $r->{headers}{'content-length'}, "cached small.html ($round): a Content-Length");
    ok(gunzipped($r->{body}) eq $small, "cached small.html ($round): gunzipped");
    if ($round == 3) {
        my $h = $w->head('/small.html', 'Accept-Encoding' => 'gzip');
        is($h->{headers}{'content-encoding'}, 'gzip', 'HEAD of a cached variant: gzip');
        is($h->{headers}{'content-length'}, $r->{headers}{'content-length'}, 'HEAD: the Content-Length its GET has');
        is($h->{body}, '', 'HEAD: no body');
    }
}

# ---------------------------------------------------------------- HEAD, HTTP/1.0, keep-alive
{
    my $r = $w->head('/big.html', 'Accept-Encoding' => 'gzip');
    is($r->{status}, 200, 'HEAD: 200');
    is($r->{headers}{'content-encoding'}, 'gzip', 'HEAD: the Content-Encoding GET gets');
    is($r->{headers}{vary}, 'Accept-Encoding', 'HEAD: Vary');
    like($r->{headers}{etag} // '', qr/-gzip"$/, 'HEAD: the altered ETag');
    ok(!defined $r->{headers}{'content-length'}, 'HEAD: no Content-Length');
    is($r->{body}, '', 'HEAD: no body');

    my $host = $w->host_header;
    my $old = $w->request("GET /big.html HTTP/1.0\r\nHost: $host\r\nAccept-Encoding: gzip\r\n\r\n");
    is($old->{status}, 200, 'HTTP/1.0: 200');
    ok(!defined $old->{headers}{'transfer-encoding'}, 'HTTP/1.0: not chunked');
    ok(!defined $old->{headers}{'content-length'}, 'HTTP/1.0: no Content-Length');
    is($old->{headers}{connection}, 'close', 'HTTP/1.0: close-delimited');
    ok(gunzipped($old->{body}) eq $big, 'HTTP/1.0: gunzipped');

    my $ka = $w->request("GET /big.html HTTP/1.0\r\nHost: $host\r\nConnection: keep-alive\r\nAccept-Encoding: gzip\r\n\r\n");
    ok($ka->{closed} && gunzipped($ka->{body}) eq $big, 'HTTP/1.0 keep-alive asked: closed after the body');

    # Two compressed responses and an identity one on one connection.
    my $sock = $w->connect;
    send_raw($sock, "GET /big.html HTTP/1.1\r\nHost: $host\r\nAccept-Encoding: gzip\r\n\r\n"
                  . "GET /a.txt HTTP/1.1\r\nHost: $host\r\nAccept-Encoding: gzip\r\n\r\n"
                  . "GET /b.bin HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n");
    my @r = map { read_response($sock) } 1 .. 3;
    ok(gunzipped($r[0]{body}) eq $big, 'keep-alive: first (chunked gzip)');
    ok(gunzipped($r[1]{body}) eq $text, 'keep-alive: second (gzip)');
    ok($r[2]{body} eq $binary, 'keep-alive: third (identity)');
}

# ---------------------------------------------------------------- 206 and 304
{
    my $r = $w->get('/big.html', 'Accept-Encoding' => 'gzip', Range => 'bytes=0-99');
    is($r->{status}, 206, 'Range: 206');
    ok(!defined $r->{headers}{'content-encoding'}, '206: not compressed');
    is($r->{body}, substr($big, 0, 100), '206: the bytes of the file');

    my $since = strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime($MTIME + 100));
    my $n = $w->get('/big.html', 'Accept-Encoding' => 'gzip', 'If-Modified-Since' => $since);
    is($n->{status}, 304, 'If-Modified-Since: 304');
    is($n->{headers}{vary}, 'Accept-Encoding', '304: Vary');
    like($n->{headers}{etag} // '', qr/-gzip"$/, '304: the ETag the 200 would have');
    is($n->{body}, '', '304: no body');
}

# ---------------------------------------------------------------- brotli and gzip together
ok($BROTLI, 'the brotli command-line tool is there to check br bodies')
    or diag('install Debian package brotli (the test does it itself when it runs as root)');
{
    my $r = $w->get('/both/big.html', 'Accept-Encoding' => 'gzip, deflate, br');
    is($r->{headers}{'content-encoding'}, 'br', 'both filters, equal q: br');
    like($r->{headers}{etag} // '', qr/-br"$/, 'br: ETag with -br');
    is($r->{headers}{vary}, 'Accept-Encoding', 'br: Vary once');
    ok(unbrotli($r->{body}) eq $big, 'br: decompressed, the file');

    my $g = $w->get('/both/big.html', 'Accept-Encoding' => 'br;q=0.5, gzip');
    is($g->{headers}{'content-encoding'}, 'gzip', 'client prefers gzip: gzip');
    ok(gunzipped($g->{body}) eq $big, 'gzip from the both-directory: gunzipped');

    for my $round (1 .. 2) {
        my $s = $w->get('/both/small.html', 'Accept-Encoding' => 'br');
        is($s->{headers}{'content-encoding'}, 'br', "cached br ($round)");
        ok(unbrotli($s->{body}) eq $small, "cached br ($round): decompressed");
    }
    check_identity($w->get('/both/small.html', 'Accept-Encoding' => 'identity'), $small, 'both, identity only');
}

# ---------------------------------------------------------------- AddOutputFilter, environment, already encoded
{
    my $r = $w->get('/ext/x.data', 'Accept-Encoding' => 'gzip');
    is($r->{headers}{'content-encoding'}, 'gzip', 'AddOutputFilter by extension');
    ok(gunzipped($r->{body}) eq $text, 'by extension: gunzipped');

    check_identity($w->get('/nogzip/a.txt', 'Accept-Encoding' => 'gzip'), $text, 'SetEnv no-gzip');
    check_identity($w->get('/htmlonly/a.txt', 'Accept-Encoding' => 'gzip'), $text, 'gzip-only-text/html, text/plain');
    my $h = $w->get('/htmlonly/s.html', 'Accept-Encoding' => 'gzip');
    is($h->{headers}{'content-encoding'}, 'gzip', 'gzip-only-text/html, text/html: gzip');

    my $p = $w->get('/pre/a.txt', 'Accept-Encoding' => 'gzip');
    is($p->{headers}{'content-encoding'}, 'gzip', 'precompressed: Content-Encoding gzip');
    is($p->{body}, 'NOT REALLY GZIP', 'precompressed: the .gz bytes, not compressed again');
}

# ---------------------------------------------------------------- a streamed (CGI) response
{
    my $expected = join('', map { "line $_ of the script's output\n" } 1 .. 5000);
    my $r = $w->get('/cgi-bin/out.cgi', 'Accept-Encoding' => 'gzip');
    is($r->{status}, 200, 'CGI: 200') or diag($r->{error} // '');
    is($r->{headers}{'content-encoding'}, 'gzip', 'CGI output compressed');
    is($r->{headers}{'transfer-encoding'}, 'chunked', 'CGI: chunked');
    ok(gunzipped($r->{body}) eq $expected, 'CGI: gunzipped');
    my $plain = $w->get('/cgi-bin/out.cgi');
    ok($plain->{body} eq $expected && !defined $plain->{headers}{'content-encoding'}, 'CGI identity');
}

# ---------------------------------------------------------------- per-vhost settings
{
    my $g = $w->get('/big.html', Host => 'etag.test', 'Accept-Encoding' => 'gzip');
    is($g->{headers}{'content-encoding'}, 'gzip', 'vhost: gzip');
    like($g->{headers}{etag} // '', qr/^"[^"]+[0-9a-f]"$/, 'DeflateAlterETag NoChange: the file\'s ETag');
    ok(gunzipped($g->{body}) eq $big, 'DeflateCompressionLevel 1: gunzipped');
    my $b = $w->get('/both/big.html', Host => 'etag.test', 'Accept-Encoding' => 'br');
    is($b->{headers}{'content-encoding'}, 'br', 'vhost: br');
    ok(!defined $b->{headers}{etag}, 'BrotliAlterETag Remove: no ETag');
    ok(unbrotli($b->{body}) eq $big, 'quality 11, window 22: decompressed');
}

# ---------------------------------------------------------------- 10 MiB to a client that does not read
{
    my @children = $w->child_pids;
    my $rss = sub {    # of every child: whichever serves the request
        my $total = 0;
        for my $child (@children) {
            open my $fh, '<', "/proc/$child/status" or next;
            while (<$fh>) { $total += $1 if /^VmRSS:\s+(\d+)/ }
        }
        return $total;
    };
    my $before = $rss->();
    my $sock = $w->connect(rcvbuf => 16384);
    send_raw($sock, "GET /huge.txt HTTP/1.1\r\nHost: " . $w->host_header . "\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    sleep 1;    # read nothing for a while: the server waits for the socket
    my $during = $rss->();
    cmp_ok($during - $before, '<', 6 * 1024, 'a stalled 10 MiB compressed response holds no whole body (RSS grew < 6 MiB)')
        or diag("RSS $before -> $during KiB");
    my $r = read_response($sock, timeout => scale(60));
    is($r->{headers}{'content-encoding'}, 'gzip', '10 MiB: gzip');
    ok(gunzipped($r->{body}) eq $huge, '10 MiB: gunzipped, the file');
    close $sock;
}

like($w->error_log, qr/resuming normal operations/, 'started');
unlike($w->error_log, qr/\[(error|crit|alert|emerg)\]/, 'no errors logged');
$w->stop;
done_testing();
