#!/usr/bin/perl
# Request targets to files: percent-decoding, dot segments, what may never
# leave DocumentRoot, encoded NUL and slash, absolute-form, symlinks and
# Options FollowSymLinks.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);

my $w = WeftTest->new(
    conf => <<'EOF',
<Directory "@ROOT@/www/nofollow">
    Options -FollowSymLinks
</Directory>
<Directory "@ROOT@/www/follow">
    Options FollowSymLinks
</Directory>
<Directory "@ROOT@/www/none">
    Options None
</Directory>
EOF
    files => {
        'www/index.html'           => "index\n",
        'www/a b.html'             => "space\n",
        "www/caf\xc3\xa9.html"     => "utf8\n",
        'www/sub/index.html'       => "sub index\n",
        'www/sub/page.html'        => "sub page\n",
        'www/nofollow/real.html'   => "real file in nofollow\n",
        'www/follow/real.html'     => "real file in follow\n",
        'www/none/real.html'       => "real file in none\n",
        'outside/secret.txt'       => "SECRET outside the docroot\n",
        'www/percent%41.html'      => "literal percent\n",
    },
    symlinks => {
        'www/nofollow/out.txt'   => '@ROOT@/outside/secret.txt',
        'www/nofollow/in.html'   => '@ROOT@/www/index.html',
        'www/nofollow/outdir'    => '@ROOT@/outside',
        'www/follow/out.txt'     => '@ROOT@/outside/secret.txt',
        'www/follow/in.html'     => '../index.html',
        'www/follow/outdir'      => '@ROOT@/outside',
        'www/none/out.txt'       => '@ROOT@/outside/secret.txt',
        'www/default-out.txt'    => '@ROOT@/outside/secret.txt',
    },
);
$w->start;
my $port = $w->port;

sub fetch {
    my ($target) = @_;
    return $w->request("GET $target HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
}

sub check {
    my ($target, $status, $body, $name) = @_;
    my $r = fetch($target);
    my $ok = is($r->{status}, $status, $name);
    if ($ok && defined $body) {
        $ok = is($r->{body}, $body, "$name (body)");
    }
    diag("GET $target -> " . $r->summary) unless $ok;
    unlike($r->{body} // '', qr/SECRET/, "$name: nothing from outside the DocumentRoot") if $status != 200;
    return $r;
}

# ---------------------------------------------------------------- decoding
check('/a%20b.html', 200, "space\n", 'percent-decoding: %20 is a space');
check('/%69ndex.html', 200, "index\n", 'percent-decoding of an unreserved character');
check('/%69NDEX.html', 404, undef, 'decoding does not change case elsewhere');
check('/caf%C3%A9.html', 200, "utf8\n", 'percent-encoded UTF-8');
check("/caf\xc3\xa9.html", 200, "utf8\n", 'raw UTF-8 bytes in the target');
check('/percent%2541.html', 200, "literal percent\n", '%25 decodes to a literal % (decoded once only)');
check('/%zz.html', 400, undef, 'a bad escape (%zz) is 400');
check('/index.html%4', 400, undef, 'a truncated escape is 400');
check('/index.html%00', 400, undef, '%00 is 400');
check('/index.html%00.txt', 400, undef, '%00 in the middle is 400');
check('/sub%2Fpage.html', 404, undef, 'an encoded slash %2F is 404 (AllowEncodedSlashes Off)');
check('/sub%2fpage.html', 404, undef, 'an encoded slash %2f is 404');

# ---------------------------------------------------------------- dot segments
check('/./index.html', 200, "index\n", '/./ is removed');
check('/sub/../index.html', 200, "index\n", '/sub/../ stays inside and is resolved');
check('/sub/./page.html', 200, "sub page\n", '/sub/./page.html');
check('//index.html', 200, "index\n", 'repeated slashes are merged');
check('/sub//page.html', 200, "sub page\n", 'repeated slashes inside are merged');
check('/sub/%2e%2e/index.html', 200, "index\n", 'encoded dot segment inside the root is resolved');
check('/../index.html', 400, undef, '/../ above the root is 400');
check('/../../../../etc/passwd', 400, undef, 'many /../ above the root are 400');
check('/sub/../../outside/secret.txt', 400, undef, '/sub/../../ climbs above the root: 400');
check('/%2e%2e/outside/secret.txt', 400, undef, '%2e%2e above the root is 400');
check('/%2E%2E/outside/secret.txt', 400, undef, '%2E%2E above the root is 400');
check('/.%2e/outside/secret.txt', 400, undef, '.%2e above the root is 400');
check('/sub/..', 200, "index\n", 'a final .. names the parent directory (with its slash)');
check('/index.html/', 404, undef, 'a file used as a directory (trailing slash) is 404');
check('/index.html/x', 404, undef, 'a path below a file is 404');
check('/index.html#frag', 400, undef, 'a # in the request target is 400');

# ---------------------------------------------------------------- absolute-form
check("http://127.0.0.1:$port/index.html", 200, "index\n", 'absolute-form target');
check("HTTP://127.0.0.1:$port/sub/page.html", 200, "sub page\n", 'absolute-form with an upper-case scheme');
check("http://127.0.0.1:$port/../outside/secret.txt", 400, undef, 'absolute-form with .. above the root is 400');
check("http://user\@127.0.0.1:$port/index.html", 400, undef, 'absolute-form with userinfo is 400');
check("127.0.0.1:$port", 400, undef, 'authority-form with GET is 400');
check('index.html', 400, undef, 'a target without a leading slash is 400');
check('*', 400, undef, 'asterisk-form with GET is 400');

# ---------------------------------------------------------------- symlinks
check('/follow/real.html', 200, "real file in follow\n", 'a plain file under Options FollowSymLinks');
check('/follow/out.txt', 200, "SECRET outside the docroot\n", 'FollowSymLinks: a symlink to a file outside the root is followed');
check('/follow/in.html', 200, "index\n", 'FollowSymLinks: a relative symlink inside the root is followed');
check('/follow/outdir/secret.txt', 200, "SECRET outside the docroot\n", 'FollowSymLinks: a symlinked directory is followed');
check('/default-out.txt', 200, "SECRET outside the docroot\n", 'the default Options (FollowSymLinks, as Apache 2.4) follow symlinks');

check('/nofollow/real.html', 200, "real file in nofollow\n", 'a plain file under Options -FollowSymLinks is served');
for my $case (['/nofollow/out.txt', 'a symlink to a file outside the root'],
              ['/nofollow/outdir/secret.txt', 'a symlinked directory leading outside the root'],
              ['/nofollow/in.html', 'a symlink to a file inside the root'],
              ['/none/out.txt', 'a symlink under Options None']) {
    my ($target, $what) = @$case;
    my $r = fetch($target);
    ok(defined $r->{status} && ($r->{status} == 403 || $r->{status} == 404),
        "without FollowSymLinks, $what is refused (403 or 404)") or diag("GET $target -> " . $r->summary);
    unlike($r->{body} // '', qr/SECRET/, "... and nothing of its target is sent ($target)");
}

$w->stop;

# ---------------------------------------------------------------- DocumentRoot itself behind a symlink
{
    my $v = WeftTest->new(conf => <<'EOF', files => { 'real-root/index.html' => "through link\n" },
DocumentRoot "@ROOT@/link-root"
<Directory "@ROOT@/link-root">
    Options None
</Directory>
EOF
        symlinks => { 'link-root' => '@ROOT@/real-root' });
    $v->start;
    my $r = $v->get('/index.html');
    is($r->{status}, 200, 'a DocumentRoot that is itself a symlink is served (only paths below it are checked)')
        or diag($r->summary);
    $v->stop(name => 'symlinked DocumentRoot server');
}

done_testing;
