#!/usr/bin/perl
# Regular expressions are PCRE2, as Apache's: what POSIX EREs read
# differently (\d, lazy quantifiers, (?i), (?:...), look-ahead) behaves as
# in Apache in every directive and section that takes a regex, and a
# pattern PCRE2 refuses is a -t error naming the position and the reason.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest;

my $w = WeftTest->new(
    conf => <<'EOF',
Listen 127.0.0.1:@PORT@
RedirectMatch 301 ^/products/(\d+)$ http://shop.example/item/$1
RedirectMatch ^/lazy/(.*?)/(.*)$ http://example.com/first/$1/rest/$2
AliasMatch "(?i)^/PICS/(\w+)\.png$" "@ROOT@/images/$1.png"
ScriptAliasMatch "^/run/(?:a|b)/(\d+)$" "@ROOT@/cgi/script$1"
<LocationMatch "(?i)^/private">
    Require all denied
</LocationMatch>
# Debian's default-ssl.conf writes this one.
<FilesMatch "\.(?:cgi|shtml|phtml|php)$">
    Header set X-Script-Like yes
</FilesMatch>
<FilesMatch "^(?!index)[a-z]+\.txt$">
    Header set X-Not-Index yes
</FilesMatch>
<DirectoryMatch "^@ROOT@/www/v\d+/">
    Header set X-Versioned yes
</DirectoryMatch>
EOF
    files => {
        'www/index.html'      => "root\n",
        'www/page.php'        => "php source\n",
        'www/page.phps'       => "php shown\n",
        'www/notes.txt'       => "notes\n",
        'www/index.txt'       => "index text\n",
        'www/v2/a.html'       => "version two\n",
        'www/vx/a.html'       => "version x\n",
        'www/private/x.html'  => "hidden\n",
        'images/cat.png'      => "cat\n",
    },
);
$w->start;
my $port = $w->port;

sub fetch {
    my ($target) = @_;
    return $w->request("GET $target HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n\r\n");
}

my $r = fetch('/products/42');
is("$r->{status} " . ($r->{headers}{location} // '-'), '301 http://shop.example/item/42', '\d matches digits');
is(fetch('/products/ddd')->{status}, 404, '... and not the letter d (POSIX would read \d as d)');
$r = fetch('/lazy/a/b/c');
is($r->{headers}{location} // '-', 'http://example.com/first/a/rest/b/c', 'lazy .*? takes the shortest');
$r = fetch('/pics/cat.png');
is("$r->{status} $r->{body}", "200 cat\n", '(?i) and \w in AliasMatch');
is(fetch('/PRIVATE/x.html')->{status}, 403, '(?i) in <LocationMatch>');
is(fetch('/private/x.html')->{status}, 403, '... in either case');
is(fetch('/page.php')->{headers}{'x-script-like'} // '-', 'yes', '(?:...) in <FilesMatch> (Debian default-ssl.conf)');
is(fetch('/page.phps')->{headers}{'x-script-like'} // '-', '-', '... $ is the end of the name');
is(fetch('/notes.txt')->{headers}{'x-not-index'} // '-', 'yes', 'negative look-ahead matches');
is(fetch('/index.txt')->{headers}{'x-not-index'} // '-', '-', '... and refuses');
is(fetch('/v2/a.html')->{headers}{'x-versioned'} // '-', 'yes', '\d in <DirectoryMatch>');
is(fetch('/vx/a.html')->{headers}{'x-versioned'} // '-', '-', '... not a letter');
is(fetch('/run/c/1')->{status}, 404, 'ScriptAliasMatch (?:a|b) does not take c');
$w->stop;

# A pattern PCRE2 refuses: -t names the file, the line, the position and the reason.
for my $case (['RedirectMatch ^/(a http://x/', qr/could not be compiled: missing closing parenthesis at offset 4/],
              ['<LocationMatch "a{2,1}">' . "\n</LocationMatch>", qr/could not be compiled: .*at offset \d+/],
              ['AliasMatch "(?<=a+)b" /tmp', qr/could not be compiled: .*lookbehind.*at offset \d+/]) {
    my ($line, $re) = @$case;
    my $t = WeftTest->new(conf => "$line\n", files => { 'www/index.html' => "x\n" });
    my ($status, $stdout, $stderr) = $t->check_config;
    isnt($status, 0, "-t fails for: $line");
    my $file = $t->conf_path;
    like($stderr, qr/^\Q$file\E:1: Regular expression .*$re/m, '... with file:line, position and reason');
}

done_testing();
