#!/usr/bin/perl
# mod_alias: Alias and AliasMatch outside DocumentRoot (whole segments,
# $N, sections and symlink rules applying to the aliased files), the
# Redirect family with each status form and the Location it builds (rest of
# the path escaped, query appended unless the target has one, local targets
# made absolute), redirects before aliases, a vhost's rules before the main
# server's, and configuration errors.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest;

my $w = WeftTest->new(
    conf => <<'EOF',
Alias /shadow "@ROOT@/docs"
Alias /icons/ "@ROOT@/icons/"
Alias /doc "@ROOT@/docs"
AliasMatch ^/img/([a-z]+)\.png$ "@ROOT@/images/$1.png"
AliasMatch "^/user/([a-z]+)/(.*)$" "@ROOT@/users/$1/$2"
Alias /linked "@ROOT@/linked"
Alias /priv "@ROOT@/priv"
<Directory "@ROOT@/linked">
    Options -FollowSymLinks
</Directory>
<Directory "@ROOT@/priv">
    Require all denied
</Directory>
Redirect /old http://example.com/new
Redirect permanent /perm/ http://example.com/p/
Redirect 307 /seven /local/target
Redirect seeother /other http://example.com/o?fixed=1
Redirect gone /gone
RedirectPermanent /rp http://example.com/rp
RedirectTemp /rt http://example.com/rt
RedirectMatch ^/rm/(.*)\.html$ http://example.com/x/$1.htm
RedirectMatch 301 ^/rm2/(.*)$ https://example.com/y/$1
RedirectMatch 410 ^/rmgone
Redirect /shadow http://example.com/shadow
Listen 127.0.0.1:@PORT@
Listen 127.0.0.1:@PORT2@
<VirtualHost *:@PORT2@>
    ServerName vhost.example
    Alias /doc "@ROOT@/vdocs"
</VirtualHost>
EOF
    files => {
        'www/index.html'        => "root\n",
        'icons/a.png'           => "icon a\n",
        'docs/index.html'       => "docs index\n",
        'docs/page.html'        => "docs page\n",
        'vdocs/page.html'       => "vhost docs page\n",
        'images/cat.png'        => "cat picture\n",
        'users/bob/notes.txt'   => "bob's notes\n",
        'linked/real.txt'       => "real\n",
        'outside/secret.txt'    => "secret\n",
        'priv/f.txt'            => "private\n",
    },
    symlinks => { 'linked/out.txt' => '@ROOT@/outside/secret.txt' },
);
$w->start;
my $port = $w->port;

sub fetch {
    my ($target, %o) = @_;
    my $host = $o{host} // "127.0.0.1:$port";
    my $method = $o{method} // 'GET';
    return $w->request("$method $target HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n",
                       port => $o{port} // $port);
}

sub body_is {
    my ($target, $status, $body, $name, %o) = @_;
    my $r = fetch($target, %o);
    is($r->{status}, $status, $name);
    is($r->{body}, $body, "$name (body)") if defined $body;
}

sub redirects {
    my ($target, $status, $location, $name, %o) = @_;
    my $r = fetch($target, %o);
    is(($r->{status} // 0) . ' ' . ($r->{headers}{location} // '-'), "$status $location", $name);
    return $r;
}

# ---- Alias
body_is('/icons/a.png', 200, "icon a\n", 'Alias with trailing slashes maps below it');
body_is('/icons', 404, undef, 'Alias /icons/ does not cover /icons (Apache\'s rule)');
body_is('/doc/page.html', 200, "docs page\n", 'Alias without trailing slash: a file below');
body_is('/doc/', 200, "docs index\n", '... the directory, with its DirectoryIndex');
my $r = fetch('/doc');
is(($r->{status} // 0) . ' ' . ($r->{headers}{location} // ''), "301 http://127.0.0.1:$port/doc/",
   '... and the directory without slash redirects by its URL, not its file path');
body_is('/docs/page.html', 404, undef, 'Alias /doc does not cover /docs (whole segments)');
body_is('/img/cat.png', 200, "cat picture\n", 'AliasMatch with $1');
body_is('/img/cat.gif', 404, undef, 'AliasMatch that does not match falls through to DocumentRoot');
body_is('/user/bob/notes.txt', 200, "bob's notes\n", 'AliasMatch with $1 and $2');
body_is('/linked/real.txt', 200, "real\n", 'an aliased directory serves its files');
body_is('/linked/out.txt', 403, undef, '<Directory> of the alias target applies: no symlinks followed');
body_is('/priv/f.txt', 403, undef, 'Require in the <Directory> of an alias target applies');
body_is('/doc/page.html', 200, "vhost docs page\n", 'a vhost\'s Alias comes before the main server\'s',
        host => 'vhost.example', port => $w->port2);
body_is('/img/cat.png', 200, "cat picture\n", 'the vhost inherits the main server\'s other aliases',
        host => 'vhost.example', port => $w->port2);

# ---- Redirect
redirects('/old', 302, 'http://example.com/new', 'Redirect without status is 302');
redirects('/old/a/b.html?x=1&y=2', 302, 'http://example.com/new/a/b.html?x=1&y=2',
          'the rest of the path and the query are appended');
redirects('/old/a%20b/%C3%A9', 302, 'http://example.com/new/a%20b/%C3%A9', 'the rest is escaped again');
body_is('/oldish', 404, undef, 'Redirect /old does not cover /oldish');
redirects('/perm/x/y', 301, 'http://example.com/p/x/y', 'Redirect permanent');
redirects('/seven/z?q', 307, "http://127.0.0.1:$port/local/target/z?q",
          'a numeric 3xx status; a local target is made absolute from Host');
redirects('/other?q=2', 303, 'http://example.com/o?fixed=1', 'seeother; a target with a query keeps only its own');
body_is('/gone', 410, undef, 'Redirect gone');
body_is('/gone/deeper', 410, undef, 'Redirect gone covers what is below');
redirects('/rp', 301, 'http://example.com/rp', 'RedirectPermanent');
redirects('/rt', 302, 'http://example.com/rt', 'RedirectTemp');
redirects('/rm/a%20b.html', 302, 'http://example.com/x/a%20b.htm', 'RedirectMatch with $1, escaped');
redirects('/rm2/q?z=1', 301, 'https://example.com/y/q?z=1', 'RedirectMatch with a status and the query');
body_is('/rmgone/zz', 410, undef, 'RedirectMatch 410 without URL');
redirects('/shadow/page.html', 302, 'http://example.com/shadow/page.html',
          'redirects are tried before aliases, whatever the file order');

$r = fetch('/old');
like($r->{body} // '', qr{<a href="http://example\.com/new">here</a>}, 'the redirect has a small HTML body');
$r = fetch('/old', method => 'HEAD');
is(($r->{status} // 0) . ' ' . ($r->{headers}{location} // ''), '302 http://example.com/new', 'HEAD redirects too');

$w->stop;

# ---- configuration errors
sub config_error_like {
    my ($body, $re, $name) = @_;
    my $t = WeftTest->new(conf => $body, files => { 'www/index.html' => "x\n" });
    my ($status, $stdout, $stderr) = $t->check_config;
    isnt($status, 0, "$name: -t fails");
    my $file = $t->conf_path;
    like($stderr, qr/^\Q$file\E:1: $re/m, "$name: file:line message");
}
config_error_like("Redirect /x\n", qr/Redirect: the URL to redirect to is missing/, 'Redirect without URL');
config_error_like("Redirect gone /x http://y/\n", qr/Redirect: a URL does not go with status 410/,
                  'gone with a URL');
config_error_like("Redirect 200 /x http://y/\n", qr/Redirect: status 200 is not a redirect/, 'a 2xx status');
config_error_like("Redirect /x notaurl\n", qr/Redirect: 'notaurl' is neither a URL nor a path/, 'a target that is no URL');
config_error_like("AliasMatch \"(\" /tmp\n", qr/Regular expression '\(' could not be compiled/, 'a bad regex');
config_error_like("Alias x /tmp\n", qr/Alias: the URL-path 'x' must start with \//, 'a relative URL-path');
config_error_like("Alias /a\n", qr/Alias takes two arguments/, 'Alias with one argument');

done_testing();
