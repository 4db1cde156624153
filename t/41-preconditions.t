#!/usr/bin/perl
# Conditional requests (RFC 9110 13): every combination of If-Match,
# If-Unmodified-Since, If-None-Match and If-Modified-Since for GET and HEAD,
# checked against the RFC's order of evaluation; the fields of 304 and 412;
# weak ETags of files just written; FileETag in all its forms (Apache's
# format), with + and - and per-directory merging.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes ();
use WeftTest qw(scale);

my $MTIME = 1700000000;
my $MTIME_TEXT = 'Tue, 14 Nov 2023 22:13:20 GMT';
my $content = "conditional content\n";

my $w = WeftTest->new(
    conf => <<'EOF',
TypesConfig conf/mime.types
MaxKeepAliveRequests 0
<Directory "@ROOT@/www/all">
    FileETag All
</Directory>
<Directory "@ROOT@/www/inode">
    FileETag INode
</Directory>
<Directory "@ROOT@/www/mtime">
    FileETag MTime
</Directory>
<Directory "@ROOT@/www/size">
    FileETag Size
</Directory>
<Directory "@ROOT@/www/none">
    FileETag None
</Directory>
<Directory "@ROOT@/www/plus">
    FileETag +INode
</Directory>
<Directory "@ROOT@/www/minus">
    FileETag -MTime
</Directory>
<Directory "@ROOT@/www/minus/inner">
    FileETag +INode
</Directory>
<Directory "@ROOT@/www/none/back">
    FileETag Size
</Directory>
<Directory "@ROOT@/www/none/plus">
    FileETag +Size
</Directory>
<Directory "@ROOT@/www/twolines">
    FileETag MTime
    FileETag +INode
</Directory>
<Directory "@ROOT@/www/mixed">
    FileETag INode +Size
</Directory>
<Directory "@ROOT@/www/empty">
    FileETag -MTime -Size
</Directory>
EOF
    files => {
        'conf/mime.types'         => "text/plain txt\n",
        'www/file.txt'            => { content => $content, mtime => $MTIME },
        'www/dir/index.html'      => { content => $content, mtime => $MTIME },
        'www/future.txt'          => { content => $content, mtime => time + 86400 },
        map({ ("www/$_/file.txt" => { content => $content, mtime => $MTIME }) }
            qw(all inode mtime size none plus minus minus/inner none/back none/plus mixed twolines empty)),
    },
);
$w->start;

# One keep-alive connection for the hundreds of requests below.
my $sock;
sub ask {
    my ($method, $path, %headers) = @_;
    for my $attempt (1 .. 2) {
        $sock //= $w->connect;
        my $raw = "$method $path HTTP/1.1\r\nHost: " . $w->host_header . "\r\n";
        $raw .= "$_: $headers{$_}\r\n" for sort keys %headers;
        WeftTest::send_raw($sock, "$raw\r\n");
        my $r = WeftTest::read_response($sock, method => $method);
        return $r if defined $r->{status};
        undef $sock;   # the server closed it: one more try on a fresh one
    }
    return WeftTest::read_response(undef);
}

my $base = ask('GET', '/file.txt');
is($base->{status}, 200, 'the file is there') or diag($base->summary);
my $etag = $base->{headers}{etag};
my $inode = (stat $w->path('www/file.txt'))[1];
is($etag, sprintf('"%x-%x"', length $content, $MTIME * 1_000_000),
   'the default FileETag is Apache\'s "size-mtime" in hex, mtime in microseconds');
is($base->{headers}{'last-modified'}, $MTIME_TEXT, 'Last-Modified');

# ---------------------------------------------------------------- all combinations
my %if_match = (absent => undef, match => $etag, 'no match' => '"nope"', star => '*', 'weak member' => "W/$etag",
                list => qq{"a", $etag});
my %if_unmodified_since = (absent => undef, equal => $MTIME_TEXT, later => 'Wed, 15 Nov 2023 00:00:00 GMT',
                           earlier => 'Mon, 13 Nov 2023 00:00:00 GMT', invalid => 'someday');
my %if_none_match = (absent => undef, match => $etag, 'no match' => '"nope"', star => '*', 'weak match' => "W/$etag");
my %if_modified_since = (absent => undef, equal => $MTIME_TEXT, later => 'Wed, 15 Nov 2023 00:00:00 GMT',
                         earlier => 'Mon, 13 Nov 2023 00:00:00 GMT', invalid => 'not a date',
                         future => 'Sat, 01 Jan 2050 00:00:00 GMT');

# RFC 9110 13.2.2, step by step.
sub expected_status {
    my ($method, $im, $ius, $inm, $ims) = @_;
    if (defined $if_match{$im}) {
        return 412 unless $im =~ /^(match|star|list)$/;
    } elsif (defined $if_unmodified_since{$ius}) {
        return 412 if $ius eq 'earlier';
    }
    if (defined $if_none_match{$inm}) {
        return 304 if $inm =~ /^(match|star|weak match)$/;
    } elsif (defined $if_modified_since{$ims}) {
        return 304 if $ims eq 'equal' || $ims eq 'later';
    }
    return 200;
}

# Every combination, pipelined 60 at a time on one connection.
my @cases;
for my $method (qw(GET HEAD)) {
    for my $im (sort keys %if_match) {
        for my $ius (sort keys %if_unmodified_since) {
            for my $inm (sort keys %if_none_match) {
                for my $ims (sort keys %if_modified_since) {
                    push @cases, [$method, $im, $ius, $inm, $ims];
                }
            }
        }
    }
}
my @wrong;
for (my $start = 0; $start < @cases; $start += 60) {
    my @batch = @cases[$start .. ($start + 59 < $#cases ? $start + 59 : $#cases)];
    my $raw = '';
    for my $case (@batch) {
        my ($method, $im, $ius, $inm, $ims) = @$case;
        $raw .= "$method /file.txt HTTP/1.1\r\nHost: x\r\n";
        $raw .= "If-Match: $if_match{$im}\r\n" if defined $if_match{$im};
        $raw .= "If-Unmodified-Since: $if_unmodified_since{$ius}\r\n" if defined $if_unmodified_since{$ius};
        $raw .= "If-None-Match: $if_none_match{$inm}\r\n" if defined $if_none_match{$inm};
        $raw .= "If-Modified-Since: $if_modified_since{$ims}\r\n" if defined $if_modified_since{$ims};
        $raw .= "\r\n";
    }
    my ($responses, $batch_sock) = $w->pipeline($raw, scalar @batch, methods => [map { $_->[0] } @batch]);
    close $batch_sock if $batch_sock;
    for my $i (0 .. $#batch) {
        my ($method, $im, $ius, $inm, $ims) = @{ $batch[$i] };
        my $expected = expected_status($method, $im, $ius, $inm, $ims);
        my $got = $responses->[$i] ? $responses->[$i]{status} // 'none' : 'none';
        push @wrong, "$method If-Match $im, If-Unmodified-Since $ius, If-None-Match $inm, "
            . "If-Modified-Since $ims: got $got, expected $expected" if $got ne $expected;
    }
}
ok(!@wrong, scalar(@cases) . ' combinations of the four fields, for GET and HEAD, follow RFC 9110 13.2.2')
    or diag(join("\n", @wrong[0 .. ($#wrong < 20 ? $#wrong : 19)]));

# ---------------------------------------------------------------- the responses themselves
my $r = ask('GET', '/file.txt', 'If-None-Match' => $etag);
is($r->{status}, 304, '304 for a matching If-None-Match');
is($r->{body}, '', '304 has no body');
is($r->{headers}{etag}, $etag, '304 carries the ETag');
is($r->{headers}{'last-modified'}, $MTIME_TEXT, '304 carries Last-Modified, as Apache');
ok(!defined $r->{headers}{'content-length'}, '304 has no Content-Length');
ok(!defined $r->{headers}{'content-type'}, '304 has no Content-Type');
ok(defined $r->{headers}{date}, '304 has Date');
is($r->{headers}{'accept-ranges'}, 'bytes', '304 keeps Accept-Ranges, as Apache');

$r = ask('GET', '/file.txt', 'If-Match' => '"nope"');
is($r->{status}, 412, '412 for a failed If-Match');
like($r->{body}, qr/Precondition Failed/, '412 has an error page');
is($r->{headers}{'content-length'}, length $r->{body}, '... with its Content-Length');
ok(!defined $r->{headers}{etag}, '412 (an error page) carries no ETag');

$r = ask('GET', '/file.txt', 'If-None-Match' => $etag, Range => 'bytes=0-3');
is($r->{status}, 304, 'preconditions come before Range: 304');
$r = ask('GET', '/file.txt', 'If-Match' => '"nope"', Range => 'bytes=0-3');
is($r->{status}, 412, 'preconditions come before Range: 412');
$r = ask('GET', '/file.txt', 'If-Match' => $etag, Range => 'bytes=0-3');
is($r->{status}, 206, 'a holding If-Match lets the Range through');
$r = ask('GET', '/dir/', 'If-None-Match' => $etag);
is($r->{status}, 304, 'a DirectoryIndex file answers conditionally too');
$r = ask('GET', '/file.txt', 'If-None-Match' => qq{"x", $etag, "y"});
is($r->{status}, 304, 'If-None-Match with a list');
$r = ask('POST', '/file.txt', 'If-None-Match' => $etag, 'Content-Length' => 0);
is($r->{status}, 405, 'POST on a file is 405 before any precondition');

# A file modified in the future: Last-Modified is never after Date.
$r = ask('GET', '/future.txt');
is($r->{headers}{'last-modified'}, $r->{headers}{date}, 'a future modification time is sent as the Date');

# ---------------------------------------------------------------- weak ETags
$w->write_file('www/fresh.txt', "just written\n");
$r = ask('GET', '/fresh.txt');
my $weak = $r->{headers}{etag} // '';
like($weak, qr{^W/"[0-9a-f]+-[0-9a-f]+"$}, 'a file written this second has a weak ETag (as Apache)');
$r = ask('GET', '/fresh.txt', 'If-None-Match' => $weak);
is($r->{status}, 304, '... which If-None-Match matches (weak comparison)');
$r = ask('GET', '/fresh.txt', 'If-Match' => $weak);
is($r->{status}, 412, '... and If-Match never does (strong comparison)');
$r = ask('GET', '/fresh.txt', Range => 'bytes=0-3', 'If-Range' => $weak);
is($r->{status}, 200, '... nor If-Range');
utime $MTIME, $MTIME, $w->path('www/fresh.txt');
$r = ask('GET', '/fresh.txt');
unlike($r->{headers}{etag} // '', qr{^W/}, 'once older, the same file has a strong ETag');

# ---------------------------------------------------------------- FileETag
my $size = sprintf('%x', length $content);
my $mtime = sprintf('%x', $MTIME * 1_000_000);
sub inode_hex { sprintf('%x', (stat $w->path("www/$_[0]/file.txt"))[1]) }
for my $case (['all', sub { '"' . inode_hex('all') . "-$size-$mtime\"" }, 'All: inode-size-mtime'],
              ['inode', sub { '"' . inode_hex('inode') . '"' }, 'INode alone'],
              ['mtime', sub { "\"$mtime\"" }, 'MTime alone'],
              ['size', sub { "\"$size\"" }, 'Size alone'],
              ['plus', sub { '"' . inode_hex('plus') . '"' }, '+INode alone: + applies to nothing inherited, as Apache'],
              ['minus', sub { "\"$size-$mtime\"" }, '-MTime alone leaves the default, as Apache'],
              ['minus/inner', sub { '"' . inode_hex('minus/inner') . '"' }, '+INode inside -MTime (Apache: the inode)'],
              ['none/back', sub { "\"$size\"" }, 'Size inside None: an absolute setting replaces None'],
              ['none/plus', sub { "\"$size\"" }, '+Size inside None: None is dropped, as Apache'],
              ['mixed', sub { '"' . inode_hex('mixed') . "-$size\"" }, 'INode +Size on one line'],
              ['twolines', sub { '"' . inode_hex('twolines') . "-$mtime\"" }, 'MTime, then +INode on a second line'],
              ['empty', sub { "\"$size-$mtime\"" }, 'removing every part leaves the default, as Apache']) {
    my ($dir, $expected, $label) = @$case;
    $r = ask('GET', "/$dir/file.txt");
    is($r->{headers}{etag}, $expected->(), "FileETag $label");
}
$r = ask('GET', '/none/file.txt');
ok(!defined $r->{headers}{etag}, 'FileETag None: no ETag');
is($r->{headers}{'last-modified'}, $MTIME_TEXT, '... Last-Modified still');
$r = ask('GET', '/none/file.txt', 'If-None-Match' => '*');
is($r->{status}, 304, 'FileETag None: If-None-Match: * still matches the file');
$r = ask('GET', '/none/file.txt', 'If-Match' => '"anything"');
is($r->{status}, 412, 'FileETag None: If-Match with a tag fails');
$r = ask('GET', '/none/file.txt', 'If-Modified-Since' => $MTIME_TEXT);
is($r->{status}, 304, 'FileETag None: If-Modified-Since works');
$r = ask('GET', '/none/file.txt', Range => 'bytes=0-3', 'If-Range' => $MTIME_TEXT);
is($r->{status}, 206, 'FileETag None: If-Range with the date works');
close $sock if $sock;

# ---------------------------------------------------------------- configuration errors
for my $bad ('FileETag +All', 'FileETag -None', 'FileETag Inodes', 'MaxRanges -1', 'MaxRanges lots',
             'MaxRangeOverlaps 0') {
    my $v = WeftTest->new(conf => "$bad\n");
    my ($code, $out, $err) = $v->check_config;
    isnt($code, 0, "'$bad' is a configuration error");
    like($out . $err, qr/weft\.conf:\d+:/, '... reported as file:line');
}
for my $good ('FileETag INode MTime Size', 'FileETag LMTime', 'MaxRanges unlimited', 'MaxRanges none',
              'MaxRangeReversals default', 'MaxRanges 1') {
    my $v = WeftTest->new(conf => "$good\n");
    my ($code) = $v->check_config;
    is($code, 0, "'$good' is accepted");
}

done_testing;
