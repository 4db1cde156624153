#!/usr/bin/perl
# Directory listings (Options Indexes): off by default (403), hostile file
# names escaped in the text and percent-encoded in the links (and the links
# lead back to the files), sorting, the parent link, directories with '/',
# IndexIgnore, symbolic links, FIFOs, HEAD.  Without FancyIndexing the
# listing is Apache's plain <ul>; FancyIndexing is t/84's.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(mkfifo);
use WeftTest qw(scale);

my $MTIME = 1700000000;    # 2023-11-14 22:13 UTC

my %hostile = (
    '<script>alert(1)<script>.html' => "script\n",
    '"quoted".txt'                  => "quotes\n",
    "it's.txt"                      => "apostrophe\n",
    'a b  c.txt'                    => "spaces\n",
    "caf\xc3\xa9.txt"               => "utf-8\n",
    "\xe6\x97\xa5\xe6\x9c\xac.txt"  => "more utf-8\n",
    '%41%2F.txt'                    => "percent\n",
    'a&b;c.txt'                     => "ampersand\n",
    'javascript:alert(1)'           => "scheme-looking\n",
    '#fragment'                     => "hash\n",
    'what?.txt'                     => "question\n",
    '<img src=x onerror=alert(1)>'  => "img\n",
    "tab\there"                     => "tab\n",
);

my $w = WeftTest->new(
    conf => <<'EOF',
<Directory "@ROOT@/www/list">
    Options Indexes
</Directory>
<Directory "@ROOT@/www/follow">
    Options Indexes FollowSymLinks
</Directory>
<Directory "@ROOT@/www/ignore">
    Options Indexes
    IndexIgnore .??* *~
</Directory>
<Directory "@ROOT@/www/ignore/deeper">
    IndexIgnore *.bak
</Directory>
<Directory "@ROOT@/www/indexed">
    Options Indexes
</Directory>
EOF
    files => {
        'www/closed/file.txt'         => "closed\n",
        'www/indexed/index.html'      => "the index\n",
        'www/indexed/other.txt'       => "other\n",
        (map { ("www/list/$_" => { content => $hostile{$_}, mtime => $MTIME }) } keys %hostile),
        'www/list/size/small.txt'     => { content => 'x', mtime => $MTIME + 300 },
        'www/list/size/large.txt'     => { content => 'x' x 5000, mtime => $MTIME + 100 },
        'www/list/size/medium.txt'    => { content => 'x' x 300, mtime => $MTIME + 200 },
        'www/list/.hidden'            => { content => "hidden\n", mtime => $MTIME },
        'www/list/sub dir/inner.txt'  => { content => "inner\n", mtime => $MTIME },
        'www/follow/real.txt'         => "real\n",
        'www/ignore/.hidden'          => "hidden\n",
        'www/ignore/kept.txt'         => "kept\n",
        'www/ignore/backup.txt~'      => "backup\n",
        'www/ignore/deeper/a.bak'     => "bak\n",
        'www/ignore/deeper/.dot'      => "dot\n",
        'www/ignore/deeper/b.txt'     => "b\n",
        'outside/secret.txt'          => "secret\n",
    },
    symlinks => {
        'www/list/link.txt'    => '@ROOT@/outside/secret.txt',
        'www/follow/link.txt'  => '@ROOT@/outside/secret.txt',
        'www/follow/dangling'  => '@ROOT@/outside/nothing-here',
    },
);
utime $MTIME, $MTIME, $w->path('www/list/sub dir');
mkfifo($w->path('www/list/a-fifo'), 0644) or diag("mkfifo: $!");
$w->start;

# The server's escaping, written out: percent-encode all but unreserved,
# sub-delims, ':' '@' (RFC 3986 pchar), then HTML-escape.
sub html { my $t = shift; $t =~ s/&/&amp;/g; $t =~ s/</&lt;/g; $t =~ s/>/&gt;/g; $t =~ s/"/&quot;/g; $t =~ s/'/&#39;/g; $t }
sub percent { my $t = shift; $t =~ s{([^A-Za-z0-9\-._~!\$&'()*+,;=:\@/])}{sprintf('%%%02X', ord $1)}ge; $t }
sub href_of { my ($name, $dir) = @_; my $h = html(percent($name)); $h = "./$h" if $name =~ /:/; $h .= '/' if $dir; $h }

# [href, text] of every row, in order.
sub rows {
    my ($body) = @_;
    my @rows;
    while ($body =~ m{<li><a href="([^"]*)"> (.*?)</a></li>}g) {
        push @rows, [$1, $2];
    }
    return @rows;
}

# ---------------------------------------------------------------- off by default
my $r = $w->get('/closed/');
is($r->{status}, 403, 'no listing without Options Indexes: 403') or diag($r->summary);
$r = $w->get('/indexed/');
is($r->{body}, "the index\n", 'a directory with an index file serves it, listing or not');

# ---------------------------------------------------------------- the listing
$r = $w->get('/list/');
is($r->{status}, 200, 'Options Indexes: 200') or diag($r->summary);
is($r->{headers}{'content-type'}, 'text/html;charset=UTF-8', 'text/html;charset=UTF-8');
is($r->{headers}{'content-length'}, length $r->{body}, 'Content-Length matches');
ok(!defined $r->{headers}{etag} && !defined $r->{headers}{'accept-ranges'}, 'no validators, no Accept-Ranges');
like($r->{body}, qr{<title>Index of /list</title>}, 'the title names the directory');
my $body = $r->{body};
unlike($body, qr{<script>|<img}, 'no hostile markup gets through');

my @rows = rows($body);
is($rows[0][0], '/', 'the first row is the parent: /');
is($rows[0][1], 'Parent Directory', '... called Parent Directory');
shift @rows;
my @names = ((sort keys %hostile), '.hidden', 'size', 'sub dir');
my %dir = (size => 1, 'sub dir' => 1);
my @expected = sort @names;
is_deeply([map { $_->[1] } @rows], [map { html($_) . ($dir{$_} ? '/' : '') } @expected],
          'every regular file and directory, dot files too, sorted by name, names HTML-escaped, directories with /')
    or diag(join("\n", map { $_->[1] } @rows));
is_deeply([map { $_->[0] } @rows], [map { href_of($_, $dir{$_}) } @expected],
          'links percent-encoded and escaped, "./" before a name with a colon');
unlike($body, qr{link\.txt}, 'without FollowSymLinks a symbolic link is left out');
unlike($body, qr{a-fifo}, 'a FIFO is never listed');
like($body, qr{<ul><li><a href="/"> Parent Directory</a></li>\n}, 'without FancyIndexing: Apache\'s plain list');
like($body, qr{<li><a href="size/"> size/</a></li>\n}, '... names only (dates and sizes need FancyIndexing, t/84)');

# Every link leads back to its file.
my %content_of = map { (html($_) => $hostile{$_}) } keys %hostile;
my $followed = 0;
for my $row (@rows) {
    my ($href, $text) = @$row;
    next unless exists $content_of{$text};
    (my $target = $href) =~ s/&amp;/&/g;
    $target =~ s/&#39;/'/g;
    $target =~ s{^\./}{};
    my $x = $w->get("/list/$target");
    $followed++ if ($x->{status} // 0) == 200 && $x->{body} eq $content_of{$text};
    is($x->{body}, $content_of{$text}, "the link for $text leads to the file") or diag($x->summary);
}
is($followed, scalar(keys %hostile), 'all hostile names round-trip through their links');

# ---------------------------------------------------------------- sorting and parents
$r = $w->get('/list/size/?C=S;O=A');
is_deeply([map { $_->[1] } grep { $_->[1] ne 'Parent Directory' } rows($r->{body})],
          ['small.txt', 'medium.txt', 'large.txt'], '?C=S;O=A sorts by size');
$r = $w->get('/list/size/?C=S&O=D');
is_deeply([map { $_->[1] } grep { $_->[1] ne 'Parent Directory' } rows($r->{body})],
          ['large.txt', 'medium.txt', 'small.txt'], '?C=S&O=D: by size, descending');
$r = $w->get('/list/size/?C=M;O=A');
is_deeply([map { $_->[1] } grep { $_->[1] ne 'Parent Directory' } rows($r->{body})],
          ['large.txt', 'medium.txt', 'small.txt'], '?C=M;O=A sorts by date');
$r = $w->get('/list/size/?C=N;O=D');
is_deeply([map { $_->[1] } grep { $_->[1] ne 'Parent Directory' } rows($r->{body})],
          ['small.txt', 'medium.txt', 'large.txt'], '?C=N;O=D: by name, descending');
$r = $w->get('/list/size/?C=X;O=Q');
is($r->{status}, 200, 'an unknown sort query is ignored');

$r = $w->get('/list/sub%20dir/');
is((rows($r->{body}))[0][0], '/list/', 'the parent of /list/sub dir/ is /list/');
like($r->{body}, qr{<title>Index of /list/sub dir</title>}, 'the title of a directory with a space');
$r = $w->get('/list/sub%20dir');
is($r->{status}, 301, 'a directory without its slash is redirected first');
is($r->{headers}{location}, 'http://' . $w->host_header . '/list/sub%20dir/', '... to the percent-encoded path');

# ---------------------------------------------------------------- HEAD
my $get = $w->get('/list/');
$r = $w->head('/list/');
is($r->{status}, 200, 'HEAD on a listing: 200');
is($r->{headers}{'content-length'}, $get->{headers}{'content-length'}, '... the Content-Length of the GET');
is($r->{body}, '', '... and no body');
$r = $w->request("POST /list/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
is($r->{status}, 405, 'POST on a listing: 405');

# ---------------------------------------------------------------- IndexIgnore, symlinks
$r = $w->get('/ignore/');
my @ignore_rows = map { $_->[1] } rows($r->{body});
is_deeply(\@ignore_rows, ['Parent Directory', 'deeper/', 'kept.txt'], 'IndexIgnore .??* *~ leaves those out');
$r = $w->get('/ignore/deeper/');
is_deeply([map { $_->[1] } rows($r->{body})], ['Parent Directory', 'b.txt'],
          'IndexIgnore adds up across sections');
$r = $w->get('/follow/');
is_deeply([map { $_->[1] } rows($r->{body})], ['Parent Directory', 'link.txt', 'real.txt'],
          'with FollowSymLinks a link is listed (a dangling one is not)');

# ---------------------------------------------------------------- the root
{
    my $v = WeftTest->new(conf => "<Directory \"\@ROOT\@/www\">\n    Options Indexes\n</Directory>\n",
                          files => { 'www/a.txt' => "a\n" });
    $v->start;
    my $x = $v->get('/');
    is($x->{status}, 200, 'a listing of /');
    is_deeply([map { $_->[1] } rows($x->{body})], ['a.txt'], '... without a parent link');
    like($x->{body}, qr{<title>Index of /</title>}, '... titled "Index of /"');
    $v->stop;
}

# ---------------------------------------------------------------- configuration
my $v = WeftTest->new(conf => "IndexIgnore sub/name\n");
my ($code, $out, $err) = $v->check_config;
isnt($code, 0, 'IndexIgnore with a / is refused');
like($out . $err, qr/weft\.conf:\d+:.*IndexIgnore/, '... as file:line');

done_testing;
