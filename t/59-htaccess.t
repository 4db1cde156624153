#!/usr/bin/perl
# .htaccess files (AccessFileName), AllowOverride and AllowOverrideList, as
# Apache 2.4: None ignores the file (not even opened), categories admit
# their directives, a directive outside them or a syntax error is a 500
# with file:line in the error log, nested directories merge in order, and
# a change to a file (edit, create, delete) is seen by the very next
# request, although weft keeps files parsed (inotify, modules/htaccess.c).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest;

my $w = WeftTest->new(
    conf => <<'EOF',
Listen 127.0.0.1:@PORT@
<Directory "@ROOT@/www">
    AllowOverride None
</Directory>
<Directory "@ROOT@/www/all">
    AllowOverride All
    Options Indexes FollowSymLinks
</Directory>
<Directory "@ROOT@/www/auth">
    AllowOverride AuthConfig
</Directory>
<Directory "@ROOT@/www/limit">
    AllowOverride Limit
</Directory>
<Directory "@ROOT@/www/list">
    AllowOverride None
    AllowOverrideList Header ErrorDocument
</Directory>
<Directory "@ROOT@/www/opts">
    AllowOverride Options=Indexes
    Options FollowSymLinks
</Directory>
<Directory "@ROOT@/www/nonfatal">
    AllowOverride AuthConfig Nonfatal=All
</Directory>
<Directory "@ROOT@/www/all/conf">
    Header set X-Conf "directory section"
</Directory>
<Directory "@ROOT@/www/nolink">
    AllowOverride All
    Options Indexes
</Directory>
<Directory "@ROOT@/www/other">
    AllowOverride FileInfo
</Directory>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT@>
    ServerName other.example
    AccessFileName .config
</VirtualHost>
EOF
    files => {
        'www/none/index.html'        => "none\n",
        'www/none/.htaccess'         => { content => "Header set X-Read yes\n", mode => 0000 },
        'www/all/index.html'         => "all\n",
        'www/all/locked/x.txt'       => "x\n",
        'www/all/locked/.htaccess'   => { content => "Header set X-Read yes\n", mode => 0000 },
        'www/all/a.txt'              => "a\n",
        'www/all/.htaccess'          => "Header set X-Level one\nErrorDocument 404 \"level one\"\n",
        'www/all/b/c/c.txt'          => "c\n",
        'www/all/b/.htaccess'        => "Header set X-Level two\nHeader set X-B yes\n",
        'www/all/b/c/.htaccess'      => "Header set X-Level three\n<Files \"c.txt\">\nHeader set X-Files yes\n</Files>\n",
        'www/all/noindex/x.txt'      => "x\n",
        'www/all/noindex/.htaccess'  => "Options -Indexes\n",
        'www/all/di/start.html'      => "start page\n",
        'www/all/di/.htaccess'       => "DirectoryIndex start.html\n",
        'www/all/denied/x.txt'       => "x\n",
        'www/all/denied/.htaccess'   => "Require all denied\n",
        'www/all/orderdeny/x.txt'    => "x\n",
        'www/all/orderdeny/.htaccess' => "<Limit GET>\nOrder allow,deny\nDeny from all\n</Limit>\n",
        'www/all/syntax/x.txt'       => "x\n",
        'www/all/syntax/.htaccess'   => "Header set X-Fine yes\n<Files x.txt>\nHeader set X-A b\n",
        'www/all/unknown/x.txt'      => "x\n",
        'www/all/unknown/.htaccess'  => "# comment\n\nNoSuchDirective on\n",
        'www/all/server/x.txt'       => "x\n",
        'www/all/server/.htaccess'   => "Listen 9\n",
        'www/all/dir/x.txt'          => "x\n",
        'www/all/dir/.htaccess'      => "<Directory />\n</Directory>\n",
        'www/all/conf/x.txt'         => "x\n",
        'www/all/conf/.htaccess'     => "Header set X-Conf \"htaccess\"\n",
        'www/all/change/x.txt'       => "x\n",
        'www/all/if/x.txt'           => "x\n",
        'www/all/if/.htaccess'       => "<If \"%{QUERY_STRING} == 'on'\">\nHeader set X-If on\n</If>\n",
        'www/auth/.htaccess'         => "Require all granted\n",
        'www/auth/bad/x.txt'         => "x\n",
        'www/auth/bad/.htaccess'     => "Require all granted\nHeader set X-No yes\n",
        'www/auth/ok/x.txt'          => "x\n",
        'www/auth/ok/.htaccess'      => "Require all denied\n",
        'www/limit/x.txt'            => "x\n",
        'www/limit/.htaccess'        => "Order deny,allow\nDeny from all\n",
        'www/list/x.txt'             => "x\n",
        'www/list/.htaccess'         => "Header set X-Listed yes\n",
        'www/list/no/x.txt'          => "x\n",
        'www/list/no/.htaccess'      => "AddType text/x-no .txt\n",
        'www/opts/x.txt'             => "x\n",
        'www/opts/.htaccess'         => "Options +Indexes\n",
        'www/opts/bad/x.txt'         => "x\n",
        'www/opts/bad/.htaccess'     => "Options +ExecCGI\n",
        'www/nonfatal/x.txt'         => "x\n",
        'www/nonfatal/.htaccess'     => "Header set X-Skipped yes\nBogusThing 1\nRequire all denied\n",
        'www/all/real/x.txt'         => "x\n",
        'www/all/real/.htaccess'     => "Header set X-Link yes\n",
        'www/nolink/real/x.txt'      => "x\n",
        'www/nolink/real/.htaccess'  => "BogusDirective here\n",
        'www/other/x.txt'            => "x\n",
        'www/other/.htaccess'        => "Header set X-Name htaccess\n",
        'www/other/.config'          => "Header set X-Name config\n",
    },
    symlinks => { 'www/all/link' => '@ROOT@/www/all/real', 'www/nolink/link' => '@ROOT@/www/nolink/real' },
);
$w->start;

sub get {
    my ($path, %o) = @_;
    my $host = $o{host} // '127.0.0.1';
    return $w->request("GET $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n");
}

sub hdr { my ($r, $name) = @_; return $r->{headers}{lc $name} // '' }

# ---------------------------------------------------------------- AllowOverride None
my $r = get('/none/index.html');
is($r->{status}, 200, 'AllowOverride None: an unreadable .htaccess does not matter (never opened)');
is(hdr($r, 'X-Read'), '', '... and is not applied');

# ---------------------------------------------------------------- All
is(get('/all/locked/x.txt')->{status}, 403,
   'an unreadable .htaccess where AllowOverride allows it: 403 (so None above did not open it)');
ok($w->wait_error_log(qr{\Q${\ $w->root}\E/www/all/locked/\.htaccess: Permission denied}), '... logged');
$r = get('/all/a.txt');
is($r->{status}, 200, 'AllowOverride All: 200');
is(hdr($r, 'X-Level'), 'one', 'Header from .htaccess');
$r = get('/all/missing');
is($r->{status}, 404, 'a missing file: 404');
like($r->{body}, qr/level one/, 'ErrorDocument from .htaccess');
$r = get('/all/b/c/c.txt');
is(hdr($r, 'X-Level'), 'three', 'nested .htaccess files merge in order: the deepest last');
is(hdr($r, 'X-B'), 'yes', '... the middle one still applies');
is(hdr($r, 'X-Files'), 'yes', '<Files> inside .htaccess');
$r = get('/all/noindex/');
is($r->{status}, 403, 'Options -Indexes in .htaccess: no listing');
$r = get('/all/di/');
is($r->{status}, 200, 'DirectoryIndex in .htaccess');
like($r->{body}, qr/start page/, '... serves its file');
is(get('/all/denied/x.txt')->{status}, 403, 'Require all denied in .htaccess');
is(get('/all/orderdeny/x.txt')->{status}, 403, 'Order/Deny under <Limit GET> in .htaccess');
is(hdr(get('/all/conf/x.txt'), 'X-Conf'), 'htaccess',
   'a .htaccess merges after the <Directory> section of its directory');
is(hdr(get('/all/if/x.txt?on'), 'X-If'), 'on', '<If> inside .htaccess: true');
is(hdr(get('/all/if/x.txt?off'), 'X-If'), '', '<If> inside .htaccess: false');

# ---------------------------------------------------------------- errors: 500 with file:line
sub error_500 {
    my ($path, $pattern, $name) = @_;
    my $got = get($path);
    is($got->{status}, 500, "$name: 500");
    ok($w->wait_error_log($pattern), "$name: the error log names file and line")
        or diag($w->error_log);
}
my $root = $w->root;
error_500('/all/syntax/x.txt', qr{\Q$root\E/www/all/syntax/\.htaccess:2: <Files> was not closed}, 'an unclosed section');
error_500('/all/unknown/x.txt', qr{\Q$root\E/www/all/unknown/\.htaccess:3: Invalid command 'NoSuchDirective'},
          'an unknown directive');
error_500('/all/server/x.txt', qr{\Q$root\E/www/all/server/\.htaccess:1: Listen not allowed here}, 'a server directive');
error_500('/all/dir/x.txt', qr{\Q$root\E/www/all/dir/\.htaccess:1: <Directory not allowed here}, '<Directory> in .htaccess');
error_500('/auth/bad/x.txt', qr{\Q$root\E/www/auth/bad/\.htaccess:2: Header not allowed here},
          'a FileInfo directive under AllowOverride AuthConfig');
is(get('/auth/ok/x.txt')->{status}, 403, 'AllowOverride AuthConfig: Require applies');
is(get('/limit/x.txt')->{status}, 403, 'AllowOverride Limit: Order/Deny apply');

# ---------------------------------------------------------------- AllowOverrideList, Options=, Nonfatal
$r = get('/list/x.txt');
is($r->{status}, 200, 'AllowOverrideList: a listed directive is allowed');
is(hdr($r, 'X-Listed'), 'yes', '... and applies');
error_500('/list/no/x.txt', qr{\Q$root\E/www/list/no/\.htaccess:1: AddType not allowed here},
          'AllowOverrideList: a directive not listed');
is(get('/opts/')->{status}, 200, 'AllowOverride Options=Indexes: Options +Indexes allowed');
error_500('/opts/bad/x.txt', qr{\Q$root\E/www/opts/bad/\.htaccess:1: Option ExecCGI not allowed here},
          'AllowOverride Options=Indexes: Options +ExecCGI');
$r = get('/nonfatal/x.txt');
is($r->{status}, 403, 'Nonfatal=All: the allowed directive still applies');
is(hdr($r, 'X-Skipped'), '', '... the others are skipped');

# ---------------------------------------------------------------- symbolic links
is(hdr(get('/all/link/x.txt'), 'X-Link'), 'yes', 'FollowSymLinks: the .htaccess of a linked directory applies');
is(get('/nolink/link/x.txt')->{status}, 403,
   'without FollowSymLinks: a linked directory is refused, its (broken) .htaccess not applied');
is(get('/nolink/real/x.txt')->{status}, 500, '... while the same directory under its own name is a 500');

# ---------------------------------------------------------------- AccessFileName
is(hdr(get('/other/x.txt'), 'X-Name'), 'htaccess', 'AccessFileName default: .htaccess');
is(hdr(get('/other/x.txt', host => 'other.example'), 'X-Name'), 'config', 'AccessFileName .config in a vhost');

# ---------------------------------------------------------------- never served
is(get('/all/.htaccess')->{status}, 403, '.htaccess is never served');
is(get('/other/.config', host => 'other.example')->{status}, 403, 'nor is another AccessFileName');

# ---------------------------------------------------------------- changes: the very next request
$r = get('/all/change/x.txt');
is(hdr($r, 'X-Level'), 'one', 'before: the parent file only');
$w->write_file('www/all/change/.htaccess', "Header set X-Level created\n");
is(hdr(get('/all/change/x.txt'), 'X-Level'), 'created', 'a created .htaccess: the very next request');
for my $i (1 .. 5) {
    $w->write_file('www/all/change/.htaccess', "Header set X-Level edit$i\n");
    is(hdr(get('/all/change/x.txt'), 'X-Level'), "edit$i", "an edited .htaccess ($i): the very next request");
}
rename($w->path('www/all/change/.htaccess'), $w->path('www/all/change/.away')) or die $!;
is(hdr(get('/all/change/x.txt'), 'X-Level'), 'one', 'a renamed-away .htaccess: the very next request');
$w->write_file('www/all/change/.new', "Header set X-Level renamed\n");
rename($w->path('www/all/change/.new'), $w->path('www/all/change/.htaccess')) or die $!;
is(hdr(get('/all/change/x.txt'), 'X-Level'), 'renamed', 'a .htaccess renamed into place: the very next request');
unlink($w->path('www/all/change/.htaccess')) or die $!;
is(hdr(get('/all/change/x.txt'), 'X-Level'), 'one', 'a deleted .htaccess: the very next request');
$w->write_file('www/all/change/.htaccess', "Header set X-Level broken\n<Files\n");
is(get('/all/change/x.txt')->{status}, 500, 'a file broken later: 500 at once');
$w->write_file('www/all/change/.htaccess', "Header set X-Level mended\n");
is(hdr(get('/all/change/x.txt'), 'X-Level'), 'mended', '... and mended: 200 at once');
# a new directory with its own file
mkdir($w->path('www/all/newdir')) or die $!;
$w->write_file('www/all/newdir/y.txt', "y\n");
is(hdr(get('/all/newdir/y.txt'), 'X-Level'), 'one', 'a new directory: the parent file');
$w->write_file('www/all/newdir/.htaccess', "Header set X-Level newdir\n");
is(hdr(get('/all/newdir/y.txt'), 'X-Level'), 'newdir', '... its own new file: the very next request');

$w->stop;
$w->check_sanitizer;
done_testing();
