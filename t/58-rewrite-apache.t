#!/usr/bin/perl
# mod_rewrite against Apache httpd 2.4 itself: the same rule sets (server
# context and <Directory> context, the common recipes and the flags that
# decide what a client sees) are loaded by weft and by apache2 on the same
# tree, and a few hundred generated requests must get the same status and
# the same Location from both.  apache2 is installed by .ci/run; without it
# the comparison is skipped visibly.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::IP;
use WeftApache qw(apache_missing start_apache stop_apache);
use WeftTest qw(scale);

my $rules = <<'EOF';
ServerName localhost
RewriteEngine On

RewriteRule ^/r301/(.*)$ /target/$1 [R=301,L]
RewriteRule ^/r302/(.*)$ /target/$1 [R,L]
RewriteRule ^/r303/(.*)$ /target/$1 [R=seeother,L]
RewriteRule ^/r307/(.*)$ /target/$1 [R=307,L]
RewriteRule ^/qsa/(\w*)$ /target/$1?added=1 [R,QSA,L]
RewriteRule ^/qsr/(\w*)$ /target/$1?added=1 [R,L]
RewriteRule ^/qsd/(\w*)$ /target/$1 [R,QSD,L]
RewriteRule ^/qsdrop/(\w*)$ /target/$1? [R,L]
RewriteRule ^/ne/(.*)$ /target/$1 [R,NE,L]
RewriteRule ^/esc/(.*)$ /target/$1 [R,L]
RewriteRule ^/b/(.*)$ /target?x=$1 [B,R,L]
RewriteRule ^/bnp/(.*)$ /target?x=$1 [B,BNP,R,L]
RewriteRule ^/bsel/(.*)$ /target?x=$1 [B=&?,R,L]
RewriteRule ^/nob/(.*)$ /target?x=$1 [R,L]
RewriteRule ^/f/ - [F]
RewriteRule ^/g/ - [G]
RewriteRule ^/r404/ - [R=404]
RewriteRule ^/nc/(.*)$ /target/nc-$1 [NC,R,L]
RewriteRule !^/(target|www|wp|base|nobase|chain|skip|abs|self|host|item|emptyq|img|not|env|map|frag|index|show|ext|cond)(/|$|\.) /target/negated [R,L]

RewriteCond %{HTTP_HOST} ^www\.(.+)$ [NC]
RewriteRule ^/host/(.*)$ http://%1/$1 [R=301,L]

RewriteCond %{QUERY_STRING} (^|&)id=(\d+)(&|$)
RewriteRule ^/item$ /items/%2? [R=301,L]

RewriteCond %{QUERY_STRING} ^$
RewriteRule ^/emptyq$ /target/empty [R,L]

RewriteCond %{REQUEST_URI} \.(gif|png)$ [NC]
RewriteRule ^/img/ - [F]

RewriteRule ^/chain/a - [C]
RewriteRule ^/chain/(.*)$ /target/chained-$1 [R,L]
RewriteRule ^/chain/(.*)$ /target/unchained-$1 [R,L]

RewriteRule ^/skip/x - [S=1]
RewriteRule ^/skip/ /target/not-skipped [R,L]
RewriteRule ^/skip/ /target/skipped-to [R,L]

RewriteRule ^/abs/(.*)$ http://elsewhere.test/$1 [L]
RewriteRule ^/ext/(.*)$ https://elsewhere.test:8443/x/$1 [R=302,L]
RewriteRule ^/frag/(.*)$ /target/page#$1 [R,NE,L]
RewriteRule ^/self/(.*)$ http://localhost/target/$1 [R,L]

RewriteCond %{HTTP:X-Mode} =on
RewriteRule ^/cond/header$ /target/header-on [R,L]
RewriteCond %{HTTP_USER_AGENT} Mobile [OR]
RewriteCond %{HTTP:X-Mobile} ^yes$
RewriteRule ^/cond/mobile$ /target/mobile [R,L]
RewriteCond %{REQUEST_METHOD} =HEAD
RewriteRule ^/cond/method$ /target/head [R,L]
RewriteCond %{HTTP:X-Num} -gt10
RewriteRule ^/cond/num$ /target/big [R,L]
RewriteCond %{HTTP:X-Word} >m
RewriteRule ^/cond/lex$ /target/after-m [R,L]
RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} -f
RewriteRule ^/cond/(.*)$ /target/exists-$1 [R,L]
RewriteCond %{THE_REQUEST} \?secret
RewriteRule ^/cond/ - [F]
RewriteRule ^/cond/(.*)$ /target/cond-$1 [R,L]

RewriteRule ^/selfred/(.*)$ http://localhost/target/$1 [L]
RewriteRule ^/hostred/(.*)$ http://%{HTTP_HOST}/target/$1 [L]
RewriteRule ^/envchain/ - [E=FOO:bar]
RewriteCond %{ENV:FOO} =bar
RewriteRule ^/envchain/(.*)$ /target/env-$1 [R,L]
RewriteCond %{DOCUMENT_ROOT}/target/%{QUERY_STRING} -f
RewriteRule ^/exists$ /target/found [R,L]
RewriteCond /target/%{QUERY_STRING} -U
RewriteRule ^/urlexists$ /target/url-found [R,L]
RewriteRule ^/nloop/(.*)$ /nloop/$1 [N=5]
RewriteRule ^/dashes/([^-]*)-(.*)$ /dashes/$1_$2 [N]
RewriteRule ^/dashes/(.*)$ /target/$1 [R,L]
RewriteRule ^/qkeep/(.*)$ /target/$1 [R,L]
RewriteRule ^/qlast/(.*)$ /target/$1?a=b?c=d [R,QSL,L]
RewriteRule ^/pct/(.*)$ /target/100%25/$1 [R,L]
RewriteRule ^/pctne/(.*)$ /target/100%25/$1 [R,NE,L]

RewriteMap lower int:tolower
RewriteMap esc int:escape
RewriteRule ^/map/lower/(.*)$ /target/${lower:$1} [R,L]
RewriteRule ^/map/esc/(.*)$ /target?v=${esc:$1} [R,NE,L]

# A WordPress installation in a subdirectory, its rules as it writes them.
<Directory "@ROOT@/www/wp">
    RewriteEngine On
    RewriteBase /wp/
    RewriteRule ^index\.php$ - [L]
    RewriteCond %{REQUEST_FILENAME} !-f
    RewriteCond %{REQUEST_FILENAME} !-d
    RewriteRule . /wp/index.php [L]
</Directory>

<Directory "@ROOT@/www/base">
    RewriteEngine On
    RewriteBase /base/
    RewriteRule ^page/(\d+)$ show.html?id=$1 [L]
    RewriteRule ^go/(.*)$ elsewhere/$1 [R=301,L]
    RewriteRule ^abs/(.*)$ /base/show.html [R,L]
    RewriteRule ^up/(.*)$ ../show.html [L]
    RewriteRule ^q/(.*)$ show.html?a=1 [QSA,L]
    RewriteRule ^qr/(.*)$ elsewhere?a=$1 [QSA,R,L]
    RewriteRule ^end$ show.html [END]
    RewriteRule ^forbid/ - [F]
    RewriteRule ^gone$ - [G]
    RewriteRule ^ext/(.*)$ http://elsewhere.test/$1 [R=301,L]
</Directory>

<Directory "@ROOT@/www/base/inner">
    RewriteOptions Inherit
    RewriteRule ^own$ /target/a [R,L]
</Directory>

<Directory "@ROOT@/www/base/plain">
    RewriteRule ^x$ /target/plain-x [R,L]
</Directory>

<Location /loc>
    RewriteEngine On
    RewriteRule ^(.*)/r$ $1/target [R,L]
    RewriteRule x$ /target/loc-x [R,L]
</Location>

<Directory "@ROOT@/www/nobase">
    RewriteEngine On
    RewriteRule ^x/(.*)$ y.html [L]
    RewriteRule ^r/(.*)$ http://example.test/nobase/target/$1 [R,L]
</Directory>
EOF

my %files = (
    'www/index.html'        => "home\n",
    'www/show.html'         => "top show\n",
    'www/target/a'          => "a\n",
    'www/cond/file.html'    => "cond\n",
    'www/wp/index.php'      => "front controller\n",
    'www/wp/style.css'      => "css\n",
    'www/wp/sub/index.html' => "wp sub\n",
    'www/base/show.html'    => "show\n",
    'www/nobase/y.html'     => "y\n",
    # Apache's <Directory> sections apply to directories that exist (its walk stops at the first
    # missing one); weft's to paths: the comparison keeps to existing directories.
    'www/base/inner/index.html' => "inner\n",
    'www/base/plain/index.html' => "plain\n",
);

my $w = WeftTest->new(
    conf => "Include conf/rewrite.conf\nDirectoryIndex index.html\nListen 127.0.0.1:\@PORT\@\n",
    files => \%files,
);
my $root = $w->root;
$w->write_file('conf/rewrite.conf', $w->subst($rules));
$w->start;

# The requests: every path with every suffix, and a few header variants.
my @paths = qw(/r301/ /r302/ /r303/ /r307/ /qsa/ /qsr/ /qsd/ /qsdrop/ /ne/ /esc/ /b/ /bnp/ /bsel/ /nob/ /f/
               /g/ /r404/ /nc/ /NC/ /chain/ /skip/ /abs/ /ext/ /frag/ /self/ /host/ /map/lower/ /map/esc/
               /other/ /wp/ /base/ /base/page/ /base/go/ /base/up/ /base/q/ /base/qr/ /base/forbid/
               /nobase/x/ /nobase/r/);
my @suffixes = ('', 'a', 'a/b', 'x.html', 'a%20b', 'A+B', 'a%26b%3Dc', '%C3%A9t%C3%A9', 'a?x=1',
                'a?id=7&y=2', '9');
my @requests;
for my $path (@paths) {
    push @requests, [ "$path$_", {} ] for @suffixes;
}
push @requests,
    [ '/item?id=42', {} ], [ '/item?x=1&id=5&z', {} ], [ '/item?ida=5', {} ], [ '/item', {} ],
    [ '/emptyq', {} ], [ '/emptyq?x', {} ], [ '/img/a.gif', {} ], [ '/img/a.PNG', {} ], [ '/img/a.jpg', {} ],
    [ '/chain/a', {} ], [ '/chain/b', {} ], [ '/skip/x', {} ], [ '/skip/y', {} ],
    [ '/host/p?q=1', { Host => 'www.example.test' } ], [ '/host/p', { Host => 'WWW.Example.test' } ],
    [ '/host/p', {} ],
    [ '/cond/header', { 'X-Mode' => 'on' } ], [ '/cond/header', { 'X-Mode' => 'off' } ],
    [ '/cond/mobile', { 'User-Agent' => 'Some Mobile Browser' } ], [ '/cond/mobile', { 'X-Mobile' => 'yes' } ],
    [ '/cond/mobile', { 'X-Mobile' => 'no' } ], [ '/cond/method', {} ],
    [ '/cond/num', { 'X-Num' => '11' } ], [ '/cond/num', { 'X-Num' => '10' } ], [ '/cond/num', {} ],
    [ '/cond/lex', { 'X-Word' => 'n' } ], [ '/cond/lex', { 'X-Word' => 'a' } ], [ '/cond/lex', { 'X-Word' => 'mm' } ],
    [ '/cond/file.html', {} ], [ '/cond/nofile.html', {} ], [ '/cond/x?secret=1', {} ],
    [ '/wp/2024/01/hello/', {} ], [ '/wp/style.css', {} ], [ '/wp/sub/', {} ], [ '/wp/index.php', {} ],
    [ '/wp/?p=12', {} ], [ '/base/end', {} ], [ '/base/gone', {} ], [ '/base/ext/x?y=1', {} ],
    [ '/base/abs/x', {} ], [ '/target/a', {} ], [ '/show.html', {} ],
    [ '/selfred/a', { Host => 'localhost' } ], [ '/selfred/a', {} ], [ '/hostred/a', {} ],
    [ '/hostred/a', { Host => 'localhost' } ], [ '/hostred/a', { Host => 'LOCALHOST' } ], [ '/envchain/x', {} ],
    [ '/exists?a', {} ], [ '/exists?zzz', {} ], [ '/urlexists?a', {} ], [ '/urlexists?zzz', {} ],
    [ '/nloop/x', {} ], [ '/dashes/a-b-c-d', {} ], [ '/qkeep/x?a=%20b', {} ], [ '/qkeep/x?a=%2Fb&c', {} ],
    [ '/qlast/x?orig=1', {} ], [ '/pct/x', {} ], [ '/pctne/x', {} ],
    [ '/base/inner/own', {} ], [ '/base/inner/page/3', {} ], [ '/base/inner/go/z', {} ], [ '/base/plain/x', {} ],
    [ '/base/plain/page/3', {} ], [ '/loc/a/r', {} ], [ '/loc/x', {} ], [ '/loc/', {} ],
    [ '/wp/index.php/2024/hello', {} ], [ '/wp/style.css/x', {} ], [ '/wp/a%2Fb', {} ], [ '/wp/..%2F', {} ],
    [ '/base/page/1?x=y', {} ], [ '/base/qr/v?w=1', {} ], [ '/nobase/r/q?z', {} ];

sub ask {
    my ($port, $target, $headers) = @_;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => scale(10))
        or return ('no connection', '');
    my %h = (Host => 'example.test', %$headers);
    my $head = "GET $target HTTP/1.1\r\n" . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "Connection: close\r\n\r\n";
    print $sock $head;
    my $response = '';
    my $deadline = time + scale(10);
    while (time < $deadline) {
        my $n = sysread($sock, my $chunk, 65536);
        last unless $n;
        $response .= $chunk;
        last if $response =~ /\r\n\r\n/;
    }
    close $sock;
    my ($status) = $response =~ m{^HTTP/1\.\d (\d{3})};
    my ($location) = $response =~ m{^Location: ([^\r\n]*)}mi;
    return ($status // 'no answer', $location // '');
}

my @weft = map { [ ask($w->port, $_->[0], $_->[1]) ] } @requests;
cmp_ok(scalar(@requests), '>=', 200, 'at least 200 requests are compared');

my $why_not = apache_missing(qw(mpm_event authz_core rewrite dir mime autoindex));
SKIP: {
    skip "$why_not: weft's answers not compared with Apache's", scalar(@requests) + 1 if $why_not;
    my $port = $w->port2;
    my ($pid, $problem) = start_apache(root => $root, port => $port,
        modules => [qw(mpm_event authz_core rewrite dir mime autoindex)],
        config => "TypesConfig /dev/null\nDocumentRoot $root/www\nDirectoryIndex index.html\nInclude $root/conf/rewrite.conf\n");
    ok(defined $pid, 'apache2 -X serves the same rules') or diag($problem);
    for my $i (0 .. $#requests) {
        my ($target, $headers) = @{ $requests[$i] };
        my ($status, $location) = defined $pid ? ask($port, $target, $headers) : ('not started', '');
        my $what = $target . join('', map { " ($_: $headers->{$_})" } sort keys %$headers);
        is("$weft[$i][0] $weft[$i][1]", "$status $location", "as Apache: $what");
    }
    stop_apache($pid);
}

$w->stop;
done_testing();
