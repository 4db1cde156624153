# The file cache (src/modules/file_cache.c): hot small files are served
# from memory, and any change to the file, or to a directory or link on its
# path, is seen by the very next request (inotify, file_watch.c; with
# FileCacheWatch Off, a stat on every hit).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use WeftTest;

my $w = WeftTest->new(conf => <<'EOF', files => { 'www/page.html' => "first version\n", 'www/other.txt' => "other\n" });
FileCacheSize 1M
FileCacheMaxFile 16K
<Directory "@ROOT@/www">
    Options -FollowSymLinks
</Directory>
EOF
$w->start;
my $page = $w->path('www/page.html');

for my $round (1 .. 3) {
    my $r = $w->get('/page.html');
    is($r->{body}, "first version\n", "round $round: the file is served (from the cache after the first)");
}
my $etag = $w->get('/page.html')->{headers}{etag};

# Same size, new content, and the old modification time put back: only the
# change time tells, and that is enough.
my @stat = stat $page;
open my $fh, '>', $page or die;
print $fh "FIRST version\n";
close $fh;
utime $stat[8], $stat[9], $page;
my $r = $w->get('/page.html');
is($r->{body}, "FIRST version\n", 'a rewrite of the same size with the old mtime is seen at once');

# Replaced by a new file (a new inode) through rename.
open $fh, '>', "$page.new" or die;
print $fh "renamed into place\n";
close $fh;
rename "$page.new", $page or die;
is($w->get('/page.html')->{body}, "renamed into place\n", 'a file renamed over it is seen at once');

# Deleted: 404, not the cached copy.
unlink $page;
is($w->get('/page.html')->{status}, 404, 'a deleted file is not served from the cache');

# Replaced by a symbolic link while FollowSymLinks is off: refused.
$w->write_file('secret.txt', "secret\n");
symlink $w->path('secret.txt'), $page or die;
$r = $w->get('/page.html');
isnt($r->{status}, 200, 'a symbolic link put in its place is refused (FollowSymLinks off)');
unlike($r->{body} // '', qr/secret/, 'and the link target never shows');
unlink $page;

# Conditional requests against a cached file.
$w->write_file('www/cond.html', "conditional\n");
my $first = $w->get('/cond.html');
my $second = $w->get('/cond.html', 'If-None-Match' => $first->{headers}{etag});
is($second->{status}, 304, 'If-None-Match on a cached file gives 304');
ok(defined $etag, 'cached responses carry an ETag');

# Larger than FileCacheMaxFile: still right (sent from the file).
my $big = join '', map { sprintf "%07d\n", $_ } 1 .. 5000;
$w->write_file('www/big.txt', $big);
for my $round (1 .. 2) {
    $r = $w->get('/big.txt');
    is(length $r->{body}, length $big, "round $round: a file over FileCacheMaxFile is served whole");
    ok($r->{body} eq $big, "round $round: byte for byte");
}

# Ranges of a cached file still work (they bypass the cache).
$r = $w->get('/other.txt');
$r = $w->get('/other.txt', Range => 'bytes=1-3');
is($r->{status}, 206, 'a Range request on a cached file is answered 206');
is($r->{body}, 'the', 'with the right bytes');
$w->stop;

# Changes on the way to a cached file, with and without FileCacheWatch.
for my $watch ('On', 'Off') {
    my $v = WeftTest->new(conf => <<"EOF", files => {
FileCacheWatch $watch
<Directory "\@ROOT\@/www">
    Options FollowSymLinks
</Directory>
EOF
        'www/dir/page.txt' => "in dir\n", 'one/page.txt' => "target one\n", 'two/page.txt' => "target two\n" });
    symlink $v->path('one'), $v->path('www/link') or die "symlink: $!";
    $v->start;
    for (1 .. 2) {
        $v->get('/dir/page.txt');
        $v->get('/link/page.txt');
    }
    is($v->get('/link/page.txt')->{body}, "target one\n", "FileCacheWatch $watch: a file behind a link is served");
    unlink $v->path('www/link');
    symlink $v->path('two'), $v->path('www/link') or die "symlink: $!";
    is($v->get('/link/page.txt')->{body}, "target two\n", "FileCacheWatch $watch: the link pointed elsewhere is seen at once");
    rename $v->path('two'), $v->path('three') or die;
    is($v->get('/link/page.txt')->{status}, 404, "FileCacheWatch $watch: the link's target directory renamed away: 404 at once");
    rename $v->path('www/dir'), $v->path('www/moved') or die;
    is($v->get('/dir/page.txt')->{status}, 404, "FileCacheWatch $watch: the file's directory renamed: 404 at once");
    is($v->get('/moved/page.txt')->{body}, "in dir\n", "FileCacheWatch $watch: and served under its new name");
    open my $out, '>>', $v->path('www/moved/page.txt') or die;
    print $out "appended\n";
    close $out;
    is($v->get('/moved/page.txt')->{body}, "in dir\nappended\n", "FileCacheWatch $watch: an append is seen at once");
    $v->stop;
}
{
    my $bad = WeftTest->new(conf => "FileCacheWatch sometimes\n");
    my ($code, $out, $err) = $bad->run_weft('-t');
    isnt($code, 0, 'FileCacheWatch sometimes fails -t');
    like($err, qr/weft\.conf:\d+: FileCacheWatch must be On or Off/, 'with file:line');
}

# EnableSendfile Off: larger files go through memory, byte for byte, ranges
# included; EnableMMAP is accepted (weft never maps files).
{
    my $body = join '', map { sprintf "%09d\n", $_ } 1 .. 120_000;    # 1.2 MB
    my $v = WeftTest->new(conf => "EnableSendfile Off\nEnableMMAP Off\n", files => { 'www/big.txt' => $body });
    $v->start;
    my $r = $v->get('/big.txt');
    is($r->{status}, 200, 'EnableSendfile Off: a 1.2 MB file is served');
    ok(defined $r->{body} && $r->{body} eq $body, 'EnableSendfile Off: byte for byte');
    $r = $v->get('/big.txt', Range => 'bytes=500000-500019');
    is($r->{body}, substr($body, 500000, 20), 'EnableSendfile Off: a range of it');
    $v->stop;
    my $bad = WeftTest->new(conf => "EnableSendfile sometimes\n");
    my ($code, $out, $err) = $bad->run_weft('-t');
    isnt($code, 0, 'EnableSendfile sometimes fails -t');
    like($err, qr/weft\.conf:\d+: EnableSendfile must be On or Off/, 'with file:line');
}

# FileCacheSize 0 turns it off; bad values are config errors.
{
    my $off = WeftTest->new(conf => "FileCacheSize 0\n", files => { 'www/a.txt' => "a\n" });
    $off->start;
    is($off->get('/a.txt')->{body}, "a\n", 'with FileCacheSize 0 files are served as usual');
    $off->stop;
    my $bad = WeftTest->new(conf => "FileCacheSize lots\n");
    my ($code, $out, $err) = $bad->run_weft('-t');
    isnt($code, 0, 'FileCacheSize lots fails -t');
    like($err, qr/weft\.conf:\d+: FileCacheSize requires a size/, 'with file:line and the directive');
}

done_testing;
