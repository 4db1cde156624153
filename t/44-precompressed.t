#!/usr/bin/perl
# PrecompressedGzip: NAME.gz for clients that accept gzip, Vary on both
# variants, the original's Content-Type, a validator of its own so that
# conditional requests and ranges stay right for each representation, the
# symbolic-link rules for the .gz, and DirectoryIndex files.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use WeftTest qw(scale);

my $MTIME = 1700000000;
my $text = "precompressed text, " x 200;    # 4000 bytes, compresses well
my $gz;
gzip(\$text, \$gz) or die "gzip: $GzipError";

my $w = WeftTest->new(
    conf => <<'EOF',
TypesConfig conf/mime.types
<Directory "@ROOT@/www/on">
    PrecompressedGzip On
    Options -FollowSymLinks
</Directory>
<Directory "@ROOT@/www/on/follow">
    Options FollowSymLinks
</Directory>
EOF
    files => {
        'conf/mime.types'          => "text/plain txt\ntext/html html\napplication/gzip gz\n",
        'www/on/a.txt'             => { content => $text, mtime => $MTIME },
        'www/on/a.txt.gz'          => { content => $gz, mtime => $MTIME + 10 },
        'www/on/plain.txt'         => { content => $text, mtime => $MTIME },
        'www/on/dirgz.txt'         => { content => $text, mtime => $MTIME },
        'www/on/dirgz.txt.gz/x'    => 'not a file',
        'www/on/outside.txt'       => { content => $text, mtime => $MTIME },
        'www/on/follow/inside.txt' => { content => $text, mtime => $MTIME },
        'www/on/index/index.html'  => { content => "<p>index</p>\n", mtime => $MTIME },
        'www/on/index/index.html.gz' => { content => 'GZIP-OF-INDEX', mtime => $MTIME },
        'www/off/a.txt'            => { content => $text, mtime => $MTIME },
        'www/off/a.txt.gz'         => { content => $gz, mtime => $MTIME },
        'secret/outside.txt.gz'    => { content => 'SECRET', mtime => $MTIME },
    },
    symlinks => {
        'www/on/outside.txt.gz'        => '@ROOT@/secret/outside.txt.gz',
        'www/on/follow/inside.txt.gz'  => '@ROOT@/www/on/a.txt.gz',
    },
);
$w->start;

sub zipped { my ($path, %h) = @_; return $w->get($path, 'Accept-Encoding' => 'gzip', %h) }

# ---------------------------------------------------------------- the two variants
my $r = zipped('/on/a.txt');
is($r->{status}, 200, 'gzip accepted: 200') or diag($r->summary);
is($r->{headers}{'content-encoding'}, 'gzip', 'Content-Encoding: gzip');
is($r->{headers}{vary}, 'Accept-Encoding', 'Vary: Accept-Encoding');
like($r->{headers}{'content-type'} // '', qr{^text/plain}, 'the Content-Type of the original name');
is($r->{body}, $gz, 'the bytes of a.txt.gz');
is($r->{headers}{'content-length'}, length $gz, 'its length');
my $unzipped;
gunzip(\$r->{body}, \$unzipped) or diag("gunzip: $GunzipError");
is($unzipped, $text, '... which decompress to the original');
my $gz_etag = $r->{headers}{etag} // '';
like($gz_etag, qr/^"[0-9a-f]+-[0-9a-f]+-gzip"$/, 'an ETag of its own, ending in -gzip');
is($r->{headers}{'last-modified'}, 'Tue, 14 Nov 2023 22:13:30 GMT', 'the Last-Modified of the .gz');

my $id = $w->get('/on/a.txt');
is($id->{status}, 200, 'no Accept-Encoding: 200');
ok(!defined $id->{headers}{'content-encoding'}, 'no Content-Encoding');
is($id->{headers}{vary}, 'Accept-Encoding', 'Vary: Accept-Encoding on the uncompressed variant too');
is($id->{body}, $text, 'the original bytes');
my $id_etag = $id->{headers}{etag} // '';
isnt($id_etag, $gz_etag, 'the two variants have different ETags');
unlike($id_etag, qr/gzip/, '... the original has the plain one');

for my $case (['gzip;q=0', 0], ['gzip;q=0, *', 0], ['deflate, br', 0], ['identity', 0], ['', 0],
              ['*', 1], ['x-gzip', 1], ['GZIP', 1], ['deflate, gzip;q=0.5', 1], ['br;q=1, gzip;q=0.001', 1],
              ['*;q=0', 0], ['gzip;q=2', 0]) {
    my ($accept, $zipped) = @$case;
    my $x = $w->get('/on/a.txt', 'Accept-Encoding' => $accept);
    is(($x->{headers}{'content-encoding'} // '') eq 'gzip' ? 1 : 0, $zipped,
       "Accept-Encoding '$accept': " . ($zipped ? 'gzip' : 'identity'));
}

$r = $w->head('/on/a.txt', 'Accept-Encoding' => 'gzip');
is($r->{headers}{'content-encoding'}, 'gzip', 'HEAD: Content-Encoding');
is($r->{headers}{'content-length'}, length $gz, 'HEAD: the length of the .gz');
is($r->{body}, '', 'HEAD: no body');

# ---------------------------------------------------------------- which files qualify
$r = zipped('/on/plain.txt');
ok(!defined $r->{headers}{'content-encoding'}, 'no .gz next to the file: identity');
is($r->{headers}{vary}, 'Accept-Encoding', '... still with Vary');
is($r->{body}, $text, '... and the original bytes');
$r = zipped('/on/dirgz.txt');
ok(!defined $r->{headers}{'content-encoding'}, 'a .gz that is a directory is not used');
$r = zipped('/on/outside.txt');
ok(!defined $r->{headers}{'content-encoding'}, 'a .gz symlink is not followed without FollowSymLinks');
unlike($r->{body}, qr/SECRET/, '... nothing of its target is sent');
$r = zipped('/on/follow/inside.txt');
is($r->{headers}{'content-encoding'}, 'gzip', 'with FollowSymLinks a .gz symlink is used');
is($r->{body}, $gz, '... its target\'s bytes');
$r = zipped('/on/a.txt.gz');
ok(!defined $r->{headers}{'content-encoding'}, 'asking for the .gz itself: no Content-Encoding');
like($r->{headers}{'content-type'} // '', qr{^application/gzip}, '... it is its own type');
is($r->{body}, $gz, '... and its bytes');
$r = zipped('/on/index/');
is($r->{body}, 'GZIP-OF-INDEX', 'a DirectoryIndex file has its .gz served too');
is($r->{headers}{'content-encoding'}, 'gzip', '... with Content-Encoding');
like($r->{headers}{'content-type'} // '', qr{^text/html}, '... and the type of index.html');
$r = zipped('/off/a.txt');
ok(!defined $r->{headers}{'content-encoding'}, 'PrecompressedGzip is off by default');
ok(!defined $r->{headers}{vary}, '... and so is Vary');
is($r->{body}, $text, '... the original is sent');

# ---------------------------------------------------------------- conditionals per representation
$r = zipped('/on/a.txt', 'If-None-Match' => $gz_etag);
is($r->{status}, 304, 'If-None-Match with the gzip ETag, gzip accepted: 304');
is($r->{headers}{etag}, $gz_etag, '... the 304 names the gzip variant');
is($r->{headers}{vary}, 'Accept-Encoding', '... and carries Vary');
ok(!defined $r->{headers}{'content-encoding'}, '... but no Content-Encoding (no representation metadata)');
$r = $w->get('/on/a.txt', 'If-None-Match' => $gz_etag);
is($r->{status}, 200, 'the gzip ETag without gzip: the other representation, 200');
$r = zipped('/on/a.txt', 'If-None-Match' => $id_etag);
is($r->{status}, 200, 'the plain ETag with gzip accepted: 200');
is($r->{body}, $gz, '... with the gzip bytes');
$r = $w->get('/on/a.txt', 'If-None-Match' => $id_etag);
is($r->{status}, 304, 'the plain ETag without gzip: 304');
$r = zipped('/on/a.txt', 'If-Match' => $id_etag);
is($r->{status}, 412, 'If-Match with the plain ETag while gzip is chosen: 412');
$r = zipped('/on/a.txt', 'If-Modified-Since' => 'Tue, 14 Nov 2023 22:13:30 GMT');
is($r->{status}, 304, 'If-Modified-Since uses the .gz time');

# ---------------------------------------------------------------- ranges per representation
$r = zipped('/on/a.txt', Range => 'bytes=0-9');
is($r->{status}, 206, 'a range of the gzip variant: 206');
is($r->{headers}{'content-range'}, 'bytes 0-9/' . length($gz), '... Content-Range in bytes of the .gz');
is($r->{body}, substr($gz, 0, 10), '... its bytes');
is($r->{headers}{'content-encoding'}, 'gzip', '... with Content-Encoding');
$r = zipped('/on/a.txt', Range => 'bytes=0-1,10-11');
my ($boundary) = ($r->{headers}{'content-type'} // '') =~ /boundary=(\S+)/;
$boundary //= '?';
my $len = length $gz;
is($r->{body}, "--$boundary\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/$len\r\n\r\n"
    . substr($gz, 0, 2) . "\r\n--$boundary\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-11/$len\r\n\r\n"
    . substr($gz, 10, 2) . "\r\n--$boundary--\r\n", 'multipart ranges of the gzip variant, byte for byte');
$r = zipped('/on/a.txt', Range => 'bytes=0-9', 'If-Range' => $gz_etag);
is($r->{status}, 206, 'If-Range with the gzip ETag: 206');
$r = zipped('/on/a.txt', Range => 'bytes=0-9', 'If-Range' => $id_etag);
is($r->{status}, 200, 'If-Range with the plain ETag while gzip is chosen: 200');
is($r->{body}, $gz, '... the whole gzip variant');
$r = $w->get('/on/a.txt', Range => 'bytes=0-9', 'If-Range' => $id_etag);
is($r->{status}, 206, 'If-Range with the plain ETag without gzip: 206');
is($r->{body}, substr($text, 0, 10), '... bytes of the original');
$r = zipped('/on/a.txt', Range => 'bytes=' . length($gz) . '-');
is($r->{status}, 416, 'past the end of the .gz: 416');
is($r->{headers}{'content-range'}, 'bytes */' . length($gz), '... in bytes of the .gz');
ok(!defined $r->{headers}{'content-encoding'}, '... and the error page is not called gzip');

$w->stop;

my $v = WeftTest->new(conf => "PrecompressedGzip maybe\n");
my ($code, $out, $err) = $v->check_config;
isnt($code, 0, 'PrecompressedGzip takes On or Off');

done_testing;
