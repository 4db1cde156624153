#!/usr/bin/perl
# Byte ranges (RFC 9110 14): single, suffix and open ranges, multipart
# bodies checked byte for byte, coalescing, 416, malformed Range fields,
# If-Range, HEAD, MaxRanges / MaxRangeOverlaps and large ranges that need
# several writes.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(scale);

my $MTIME = 1700000000;
my $MTIME_TEXT = 'Tue, 14 Nov 2023 22:13:20 GMT';
my $text = join('', map { chr(ord('a') + $_ % 26) } 0 .. 999);     # 1000 bytes, text/plain
my $big = join('', map { chr($_ % 251) } 0 .. 299_999);            # 300,000 bytes

my $w = WeftTest->new(
    conf => <<'EOF',
TypesConfig conf/mime.types
<Directory "@ROOT@/www/two">
    MaxRanges 2
</Directory>
<Directory "@ROOT@/www/none">
    MaxRanges none
</Directory>
<Directory "@ROOT@/www/nooverlap">
    MaxRangeOverlaps none
</Directory>
EOF
    files => {
        'conf/mime.types'       => "text/plain txt\napplication/octet-stream bin\n",
        'www/data.txt'          => { content => $text, mtime => $MTIME },
        'www/big.bin'           => { content => $big, mtime => $MTIME },
        'www/empty.txt'         => { content => '', mtime => $MTIME },
        'www/noext'             => { content => $text, mtime => $MTIME },
        'www/two/data.txt'      => { content => $text, mtime => $MTIME },
        'www/none/data.txt'     => { content => $text, mtime => $MTIME },
        'www/nooverlap/data.txt' => { content => $text, mtime => $MTIME },
    },
);
$w->start;

sub ranged { my ($path, $range, %more) = @_; return $w->get($path, Range => $range, %more) }

# The multipart body we expect, from the boundary the response announces.
sub multipart_body {
    my ($boundary, $type, $length, $data, @ranges) = @_;
    my $body = '';
    for my $r (@ranges) {
        my ($first, $last) = @$r;
        $body .= "--$boundary\r\n";
        $body .= "Content-Type: $type\r\n" if defined $type;
        $body .= "Content-Range: bytes $first-$last/$length\r\n\r\n";
        $body .= substr($data, $first, $last - $first + 1) . "\r\n";
    }
    return $body . "--$boundary--\r\n";
}

sub boundary_of {
    my ($r) = @_;
    my $type = $r->{headers}{'content-type'} // '';
    return $type =~ m{^multipart/byteranges; boundary=([0-9A-Za-z'()+_,\-./:=?]+)$} ? $1 : undef;
}

# ---------------------------------------------------------------- whole file
my $r = $w->get('/data.txt');
is($r->{status}, 200, 'plain GET is 200') or diag($r->summary);
is($r->{headers}{'accept-ranges'}, 'bytes', 'Accept-Ranges: bytes on a file');
my $etag = $r->{headers}{etag};
like($etag // '', qr/^"[0-9a-f]+-[0-9a-f]+"$/, 'a strong ETag');

# ---------------------------------------------------------------- single ranges
for my $case (['bytes=0-0', 0, 0], ['bytes=0-9', 0, 9], ['bytes=10-', 10, 999], ['bytes=-10', 990, 999],
              ['bytes=-1', 999, 999], ['bytes=-2000', 0, 999], ['bytes=990-5000', 990, 999],
              ['bytes=0-', 0, 999], ['bytes=500-500', 500, 500], ['BYTES=1-2', 1, 2],
              ['bytes=0-99999999999999999999', 0, 999]) {
    my ($range, $first, $last) = @$case;
    $r = ranged('/data.txt', $range);
    is($r->{status}, 206, "$range: 206") or diag($r->summary);
    is($r->{headers}{'content-range'}, "bytes $first-$last/1000", "$range: Content-Range");
    is($r->{headers}{'content-length'}, $last - $first + 1, "$range: Content-Length");
    is($r->{body}, substr($text, $first, $last - $first + 1), "$range: the exact bytes");
}
$r = ranged('/data.txt', 'bytes=5-9');
like($r->{headers}{'content-type'} // '', qr{^text/plain}, 'a single range keeps the Content-Type');
is($r->{headers}{etag}, $etag, '... and the ETag');
is($r->{headers}{'last-modified'}, $MTIME_TEXT, '... and Last-Modified');

# ---------------------------------------------------------------- multipart
for my $case (['bytes=0-1,5-6', [0, 1], [5, 6]],
              ['bytes=500-509, 0-9,990-', [500, 509], [0, 9], [990, 999]],
              ['bytes=-3,0-2', [997, 999], [0, 2]],
              ['bytes=0-1,,10-11', [0, 1], [10, 11]],
              ['bytes=0-1,5000-6000,3-3', [0, 1], [3, 3]]) {
    my ($range, @ranges) = @$case;
    $r = ranged('/data.txt', $range);
    is($r->{status}, 206, "$range: 206") or diag($r->summary);
    my $boundary = boundary_of($r);
    ok(defined $boundary, "$range: multipart/byteranges with a boundary")
        or diag('Content-Type: ' . ($r->{headers}{'content-type'} // '(none)'));
    $boundary //= '?';
    ok(!defined $r->{headers}{'content-range'}, "$range: no Content-Range on the whole response");
    my $expected = multipart_body($boundary, 'text/plain', 1000, $text, @ranges);
    is($r->{body}, $expected, "$range: every byte of the multipart body");
    is($r->{headers}{'content-length'}, length $expected, "$range: Content-Length of the whole body");
}
# No type, no Content-Type line in the parts.
$r = ranged('/noext', 'bytes=0-1,3-4');
is($r->{body}, multipart_body(boundary_of($r) // '?', undef, 1000, $text, [0, 1], [3, 4]),
   'parts without a Content-Type line when the file has no type');
# Large parts, each needing several writes.
$r = ranged('/big.bin', 'bytes=0-99999,200000-299999');
is($r->{status}, 206, 'two 100 KB ranges: 206');
is($r->{body}, multipart_body(boundary_of($r) // '?', 'application/octet-stream', 300_000, $big,
                              [0, 99_999], [200_000, 299_999]), '... every byte of them');
$r = ranged('/big.bin', 'bytes=100000-');
is(length($r->{body}), 200_000, 'an open range of 200 KB arrives whole');
is($r->{body}, substr($big, 100_000), '... with the right bytes');

# Coalescing: overlapping and adjacent ranges become one.
for my $case (['bytes=0-5,3-8', '0-8'], ['bytes=0-5,6-8', '0-8'], ['bytes=5-8,0-4', '0-8'],
              ['bytes=0-10,2-3', '0-10'], ['bytes=-10,990-', '990-999']) {
    my ($range, $merged) = @$case;
    $r = ranged('/data.txt', $range);
    is($r->{headers}{'content-range'}, "bytes $merged/1000", "$range is coalesced to $merged");
}

# Two multipart responses on one keep-alive connection: framing holds.
{
    my $raw = "GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,5-6\r\n\r\n"
        . "GET /data.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=7-8,100-101\r\nConnection: close\r\n\r\n";
    my ($responses) = $w->pipeline($raw, 2);
    is(scalar(@$responses), 2, 'two pipelined range requests get two responses');
    is($responses->[1]{body}, multipart_body(boundary_of($responses->[1]) // '?', 'text/plain', 1000, $text,
                                             [7, 8], [100, 101]), '... the second one intact');
}

# ---------------------------------------------------------------- 416
for my $range ('bytes=1000-', 'bytes=1000-2000', 'bytes=5000-,6000-7000', 'bytes=-0', 'bytes=-0,-0',
               'bytes=99999999999999999999-') {
    $r = ranged('/data.txt', $range);
    is($r->{status}, 416, "$range: 416") or diag($r->summary);
    is($r->{headers}{'content-range'}, 'bytes */1000', "$range: Content-Range: bytes */1000");
}
ok(!defined $r->{headers}{etag} && !defined $r->{headers}{'accept-ranges'}, '416 is an error page without validators');
is($r->{headers}{'content-length'}, length $r->{body}, '416 has a correct Content-Length');

# ---------------------------------------------------------------- malformed: ignored
my @malformed = ('bytes', 'bytes=', 'bytes=,', 'bytes=-', 'bytes=--5', 'bytes=5--6', 'bytes=5-6-7', 'bytes=a-b',
                 'bytes=5-a', 'bytes=0x10-0x20', 'bytes=+5-6', 'bytes=5 -6', 'bytes=5- 6', 'bytes=5',
                 'bytes=10-5', 'bytes=1.5-2', 'bytes = 0-1', 'bytes:0-1', 'byte=0-1', 'items=0-1', '0-1',
                 '=0-1', 'bytes=0-1;5-6', 'bytes=0-1 5-6', 'bytes=0-1,x', 'bytes=0-1,10-5', 'bytes=-5-',
                 'bytes=1000-,x', "bytes=\t", 'bytes=0-1,-', 'bytes= 0-1');
cmp_ok(scalar(@malformed), '>=', 20, 'at least 20 malformed Range fields');
for my $range (@malformed) {
    $r = ranged('/data.txt', $range);
    ok($r->{status} == 200 && $r->{body} eq $text && !defined $r->{headers}{'content-range'},
       "malformed '$range': ignored, 200 with the whole file") or diag($r->summary);
}
$r = ranged('/empty.txt', 'bytes=0-');
is($r->{status}, 200, 'Range on an empty file is ignored (200), as in Apache');

# ---------------------------------------------------------------- HEAD and other methods
$r = $w->head('/data.txt', Range => 'bytes=0-9');
is($r->{status}, 200, 'HEAD ignores Range (RFC 9110 14.2: GET only)') or diag($r->summary);
is($r->{headers}{'content-length'}, 1000, '... and announces the whole length');
is($r->{headers}{'accept-ranges'}, 'bytes', '... with Accept-Ranges');
is($r->{body}, '', '... and sends no body');

# ---------------------------------------------------------------- If-Range
$r = ranged('/data.txt', 'bytes=0-9', 'If-Range' => $etag);
is($r->{status}, 206, 'If-Range with the current ETag: 206');
$r = ranged('/data.txt', 'bytes=0-9', 'If-Range' => '"something-else"');
is($r->{status}, 200, 'If-Range with another ETag: 200 with everything');
is($r->{body}, $text, '... the whole file');
$r = ranged('/data.txt', 'bytes=0-9', 'If-Range' => "W/$etag");
is($r->{status}, 200, 'If-Range with a weak ETag: 200 (weak tags never match)');
$r = ranged('/data.txt', 'bytes=0-9', 'If-Range' => $MTIME_TEXT);
is($r->{status}, 206, 'If-Range with the exact Last-Modified date: 206');
$r = ranged('/data.txt', 'bytes=0-9', 'If-Range' => 'Wed, 15 Nov 2023 00:00:00 GMT');
is($r->{status}, 200, 'If-Range with a later date: 200');
$r = ranged('/data.txt', 'bytes=0-9', 'If-Range' => 'Mon, 13 Nov 2023 00:00:00 GMT');
is($r->{status}, 200, 'If-Range with an earlier date: 200');
$r = ranged('/data.txt', 'bytes=0-9', 'If-Range' => 'not a date');
is($r->{status}, 200, 'If-Range with garbage: 200');
$r = $w->get('/data.txt', 'If-Range' => $etag);
is($r->{status}, 200, 'If-Range without Range: 200');
$r = ranged('/data.txt', 'bytes=5000-', 'If-Range' => '"something-else"');
is($r->{status}, 200, 'a failed If-Range means no 416 either: 200');

# ---------------------------------------------------------------- limits
$r = ranged('/two/data.txt', 'bytes=0-1,3-4');
is($r->{status}, 206, 'MaxRanges 2: two ranges are served');
$r = ranged('/two/data.txt', 'bytes=0-1,3-4,6-7');
is($r->{status}, 200, 'MaxRanges 2: three ranges get the whole file (200)');
is($r->{body}, $text, '... all of it');
$r = ranged('/two/data.txt', 'bytes=0-1,2-3,4-5');
is($r->{status}, 206, 'MaxRanges counts after coalescing');
$r = ranged('/none/data.txt', 'bytes=0-1');
is($r->{status}, 200, 'MaxRanges none: Range is ignored');
is($r->{headers}{'accept-ranges'}, 'none', '... and Accept-Ranges says none');
$r = ranged('/nooverlap/data.txt', 'bytes=0-5,3-8');
is($r->{status}, 200, 'MaxRangeOverlaps none: an overlap gets the whole file');
$r = ranged('/nooverlap/data.txt', 'bytes=0-5,7-8');
is($r->{status}, 206, '... ranges that do not overlap are still served');

my $many = 'bytes=' . join(',', map { ($_ * 4) . '-' . ($_ * 4) } 0 .. 200);   # 201 ranges
$r = ranged('/data.txt', $many);
is($r->{status}, 200, 'the default MaxRanges (200): 201 ranges get the whole file');
$many = 'bytes=' . join(',', map { ($_ * 4) . '-' . ($_ * 4) } 0 .. 199);       # 200 ranges
$r = ranged('/data.txt', $many);
is($r->{status}, 206, '... 200 ranges are served');
is(scalar(() = ($r->{body} =~ /Content-Range: bytes /g)), 200, '... as 200 parts');
my $overlapping = 'bytes=0-99' . (',0-99' x 21);
$r = ranged('/data.txt', $overlapping);
is($r->{status}, 200, 'more than 20 overlapping ranges (MaxRangeOverlaps default): 200');
$r = ranged('/data.txt', 'bytes=0-599,700-799,0-599');
is($r->{status}, 200, 'ranges adding up to more than the file: 200, as Apache');

# ---------------------------------------------------------------- the log sees the bytes sent
$w->stop;
my @lines = grep { m{"GET /data.txt HTTP/1.1" 206 } } split /\n/, $w->access_log;
ok(scalar(grep { / 206 10$/ } @lines), 'the access log records the bytes of a 206 body');

done_testing;
