#!/usr/bin/perl
# The directives every Apache configuration carries (issue 12, part 4):
# ServerAdmin, ServerSignature, HostnameLookups, AccessFileName,
# DefaultRuntimeDir, Mutex; Apache's error pages; mod_autoindex's
# FancyIndexing listings (IndexOptions, AddIcon*, AddAlt, DefaultIcon,
# AddDescription, HeaderName, ReadmeName, IndexOrderDefault) and RemoveType.
# The expected texts are Apache 2.4's (as Debian's apache2 2.4 writes them).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(strftime);
use WeftTest qw(scale);

my $MTIME = 1700000000;
my $DATE = strftime('%Y-%m-%d %H:%M', localtime $MTIME);

my $env_cgi = { content => "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n", mode => 0755 };
my $bad_cgi = { content => "#!/bin/sh\necho 'this is no header'\n", mode => 0755 };

my $w = WeftTest->new(
    conf => <<'EOF',
ServerAdmin webmaster@example.org
ServerSignature On
HostnameLookups Off
AccessFileName .htaccess .config
DefaultRuntimeDir run
ScoreBoardFile weft.scoreboard
Mutex file:/tmp default
Mutex posixsem ssl-cache rewrite-map OmitPID
Mutex default
ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
LogFormat "%h %>s %U" hosts
CustomLog logs/hosts_log hosts
<Location /cgi-bin/named/>
    HostnameLookups On
</Location>
<Location /double/>
    HostnameLookups Double
</Location>
<Directory "@ROOT@/www/quiet">
    ServerSignature Off
</Directory>
<Directory "@ROOT@/www/mail">
    ServerSignature EMail
</Directory>

IndexOptions FancyIndexing VersionSort HTMLTable NameWidth=* DescriptionWidth=* Charset=UTF-8
AddIconByType (TXT,/icons/text.gif) text/*
AddIcon /icons/compressed.gif .gz
AddIcon /icons/back.gif ..
AddIcon /icons/hand.right.gif README
AddIcon /icons/folder.gif ^^DIRECTORY^^
AddIcon /icons/blank.gif ^^BLANKICON^^
AddAlt "Special" special.bin
DefaultIcon /icons/unknown.gif
ReadmeName README.html
HeaderName HEADER.html
IndexIgnore .??*
AddDescription "A text file" a.txt
AddDescription "C source" *.c
<Directory "@ROOT@/www/list">
    Options Indexes
</Directory>
<Directory "@ROOT@/www/list/pre">
    IndexOptions NameWidth=12 -HTMLTable
    IndexOrderDefault Descending Name
</Directory>
<Directory "@ROOT@/www/list/plain">
    IndexOptions FoldersFirst
</Directory>
<Directory "@ROOT@/www/list/first">
    IndexOptions Charset=ISO-8859-1 +FoldersFirst +IgnoreCase +SuppressColumnSorting
    ReadmeName README.txt
    IndexStyleSheet "/css/list.css"
    IndexHeadInsert "<meta name=\"robots\" content=\"noindex\">"
</Directory>
<Directory "@ROOT@/www/list/guarded">
    Options Indexes
    <Files "README.html">
        Require all denied
    </Files>
</Directory>
<Directory "@ROOT@/www/list/quirk">
    IndexOptions +SuppressColumnSorting NameWidth=*
</Directory>
<Directory "@ROOT@/www/types">
    RemoveType txt
    AddType text/x-mine .mine
</Directory>
<Directory "@ROOT@/www/types/again">
    AddType text/plain .txt
    RemoveType mine
</Directory>
EOF
    files => {
        'www/index.html'                  => "home\n",
        'www/quiet/index.html'            => "quiet\n",
        'www/mail/index.html'             => "mail\n",
        'www/.htaccess'                   => "this is not a directive\n",
        'www/list/a.txt'                  => { content => "hello\n", mtime => $MTIME },
        'www/list/big.tar.gz'             => { content => 'x' x 3000, mtime => $MTIME },
        'www/list/prog.c'                 => { content => "c\n", mtime => $MTIME },
        'www/list/zz.unknownext'          => { content => "z\n", mtime => $MTIME },
        'www/list/special.bin'            => { content => "s\n", mtime => $MTIME },
        'www/list/HEADER.html'            => { content => "<p>HDR</p>\n", mtime => $MTIME },
        'www/list/README.html'            => { content => "readme <b>text</b>\n", mtime => $MTIME },
        'www/list/.hidden'                => "hidden\n",
        'www/list/pre/file1.txt'          => { content => "1\n", mtime => $MTIME },
        'www/list/pre/file2.txt'          => { content => "2\n", mtime => $MTIME },
        'www/list/pre/file10.txt'         => { content => "10\n", mtime => $MTIME },
        'www/list/pre/a-very-long-file-name.txt' => { content => "long\n", mtime => $MTIME },
        'www/list/plain/b.txt'            => { content => "b\n", mtime => $MTIME },
        'www/list/first/B.txt'            => { content => "b\n", mtime => $MTIME },
        'www/list/first/a.txt'            => { content => "a\n", mtime => $MTIME },
        'www/list/first/zdir/x.txt'       => { content => "x\n", mtime => $MTIME },
        'www/list/first/README.txt'       => { content => "plain & <readme>\n", mtime => $MTIME },
        'www/list/quirk/q.txt'            => { content => "q\n", mtime => $MTIME },
        'www/list/guarded/HEADER.html'    => "<p>open header</p>\n",
        'www/list/guarded/README.html'    => "<p>secret readme</p>\n",
        'www/types/a.txt'                 => "a\n",
        'www/types/b.mine'                => "b\n",
        'www/types/again/c.txt'           => "c\n",
        'www/types/again/d.mine'          => "d\n",
        'cgi-bin/env.cgi'                 => $env_cgi,
        'cgi-bin/named/env.cgi'           => $env_cgi,
        'cgi-bin/bad.cgi'                 => $bad_cgi,
        'run/.keep'                       => '',
    },
);
utime $MTIME, $MTIME, $w->path('www/list/first/zdir');

# ---------------------------------------------------------------- -t
my ($code, $out, $err) = $w->check_config;
is($code, 0, 'the directives pass -t') or diag("$out$err");
unlike("$out$err", qr/WARNING/, '... without a warning (Mutex included)');
for my $bad (['ServerSignature Maybe', qr/ServerSignature takes On\|Off\|EMail/],
             ['HostnameLookups Sometimes', qr/HostnameLookups takes On\|Off\|Double/],
             ['Mutex spinlock', qr/Mutex: unknown mechanism 'spinlock'/],
             ['Mutex file: default', qr/names no directory/],
             ['Mutex default OmitPID ssl-cache', qr/OmitPID must come last/],
             ['IndexOptions Fancy', qr/Invalid directory indexing option 'Fancy'/],
             ['IndexOptions NameWidth=2', qr/NameWidth=2/],
             ['AddIcon (TXT /icons/a.gif .txt', qr/AddIcon: .*\(alt,icon-url\)/],
             ['IndexOrderDefault Up Name', qr/Ascending or Descending/],
             ['RemoveType a/b', qr/RemoveType: 'a\/b' is not a file name extension/]) {
    my $v = WeftTest->new(conf => "$bad->[0]\n");
    my ($c, $o, $e) = $v->check_config;
    isnt($c, 0, "'$bad->[0]' is refused");
    like("$o$e", $bad->[1], '... saying why');
}

# -D DUMP_CONFIG prints them back, and what it prints reads back the same.
my ($dump_code, $dump) = $w->run_weft($w->weft_args, '-D', 'DUMP_CONFIG');
is($dump_code, 0, '-D DUMP_CONFIG');
like($dump, qr/^ServerSignature On$/m, 'ServerSignature dumped');
like($dump, qr/^IndexOptions FancyIndexing HTMLTable VersionSort NameWidth=\* DescriptionWidth=\* Charset=UTF-8$/m,
     'IndexOptions dumped');
like($dump, qr/^AddIconByType \(TXT,\/icons\/text\.gif\) text\/\*\nAddIcon \/icons\/compressed\.gif \*\.gz$/m,
     'icon rules dumped in their order');
like($dump, qr/^    IndexOptions Charset=ISO-8859-1 \+IgnoreCase \+FoldersFirst \+SuppressColumnSorting$/m,
     'signed keywords dumped after the valued ones');
$w->write_file('conf/dumped.conf', $dump);
my ($again_code, $again) = $w->run_weft('-d', $w->root, '-f', 'conf/dumped.conf', '-D', 'DUMP_CONFIG');
my $listing_lines = sub { grep { /^\s*(Index|AddIcon|AddAlt|AddDescription|DefaultIcon|HeaderName|ReadmeName)/ } split /\n/, $_[0] };
is($again_code, 0, 'the dump is a valid configuration');
is_deeply([$listing_lines->($again)], [$listing_lines->($dump)], 'the dump reads back the same listing directives');

$w->start;
my $port = $w->port;

# ---------------------------------------------------------------- error pages and ServerSignature
my $r = $w->get('/missing.html', Host => 'www.example.com:8080');
is($r->{status}, 404, 'a missing file: 404');
is($r->{body}, <<"EOF", "Apache's 404 page with the signature (ServerSignature On, ServerTokens Full)");
<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
<html><head>
<title>404 Not Found</title>
</head><body>
<h1>Not Found</h1>
<p>The requested URL was not found on this server.</p>
<hr>
<address>weft/0.1.0 (Unix) Server at www.example.com Port 8080</address>
</body></html>
EOF
is($r->{headers}{'content-type'}, 'text/html; charset=iso-8859-1', '... text/html; charset=iso-8859-1');

$r = $w->get('/missing.html', Host => 'localhost');
# Apache's ap_get_server_port (UseCanonicalPhysicalPort Off): the Host's port,
# else ServerName's, else 80 -- not the port the connection came to.
like($r->{body}, qr{<address>weft/\S+ \(Unix\) Server at localhost Port 80</address>},
     'without a port in Host: ServerName\'s, else 80 (as Apache)');

$r = $w->get('/quiet/missing.html');
unlike($r->{body}, qr/<address>|<hr>/, 'ServerSignature Off in a <Directory>: no signature');
like($r->{body}, qr{</p>\n</body></html>\n$}, '... the page ends as Apache\'s');

$r = $w->get('/mail/missing.html', Host => 'h.example');
like($r->{body}, qr{<hr>\n<address>weft/\S+ \(Unix\) Server at <a href="mailto:webmaster\@example.org">h.example</a> Port 80</address>\n},
     'ServerSignature EMail: a mailto link to ServerAdmin');

$r = $w->request("POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
is($r->{status}, 405, 'POST to a file: 405');
like($r->{body}, qr{<p>The requested method POST is not allowed for this URL.</p>}, '... naming the method, as Apache');

$r = $w->get('/cgi-bin/bad.cgi', Host => 'localhost');
is($r->{status}, 500, 'a CGI script without a header: 500');
like($r->{body}, qr{<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n<p>Please contact the server administrator at \n webmaster\@example.org to inform them of the time this error occurred,\n and the actions you performed just before this error.</p>\n<p>More information about this error may be available\nin the server error log.</p>\n<hr>\n<address>},
     '... Apache\'s 500 page naming ServerAdmin');

# ---------------------------------------------------------------- CGI variables, HostnameLookups
sub env_of {
    my ($path) = @_;
    my $x = $w->get($path);
    return map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split /\n/, $x->{body} // '';
}
my %e = env_of('/cgi-bin/env.cgi');
is($e{SERVER_ADMIN}, 'webmaster@example.org', 'SERVER_ADMIN is ServerAdmin');
like($e{SERVER_SIGNATURE} // '', qr{^<address>weft/\S+ \(Unix\) Server at 127\.0\.0\.1 Port $port</address>$},
     'SERVER_SIGNATURE is the signature line');
ok(!exists $e{REMOTE_HOST}, 'HostnameLookups Off: no REMOTE_HOST');
%e = env_of('/cgi-bin/named/env.cgi');
is($e{REMOTE_HOST}, 'localhost', 'HostnameLookups On in a <Location>: REMOTE_HOST from reverse DNS');
$w->get('/double/nothing-here');
$w->get('/index.html');
my $log = '';
WeftTest::wait_for(sub { $log = $w->read_file('logs/hosts_log') // ''; ($log =~ tr/\n//) >= 5 }, scale(5));
like($log, qr{^127\.0\.0\.1 200 /cgi-bin/env\.cgi$}m, '%h with HostnameLookups Off: the address');
like($log, qr{^localhost 200 /cgi-bin/named/env\.cgi$}m, '%h with HostnameLookups On: the name');
like($log, qr{^localhost 404 /double/nothing-here$}m, '%h with HostnameLookups Double: the name that resolves back');

# ---------------------------------------------------------------- AccessFileName, DefaultRuntimeDir
$r = $w->get('/index.html');
is($r->{status}, 200, 'AccessFileName: a .htaccess weft does not read breaks nothing');
ok(-f $w->path('run/weft.scoreboard'), 'a relative ScoreBoardFile is under DefaultRuntimeDir');

# ---------------------------------------------------------------- FancyIndexing HTMLTable
$r = $w->get('/list/');
is($r->{status}, 200, 'a FancyIndexing HTMLTable listing: 200');
is($r->{headers}{'content-type'}, 'text/html;charset=UTF-8', '... Charset=UTF-8');
my $row = sub {
    my ($icon, $alt, $href, $name, $size, $description) = @_;
    return qq{<tr><td valign="top"><img src="$icon" alt="[$alt]"></td><td><a href="$href">$name</a></td>}
        . qq{<td align="right">$DATE  </td><td align="right">$size</td><td>$description</td></tr>\n};
};
my $expected = <<'EOF'
<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">
<html>
 <head>
  <title>Index of /list</title>
 </head>
 <body>
<p>HDR</p>
  <table>
   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>
   <tr><th colspan="5"><hr></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td><td>&nbsp;</td></tr>
EOF
    . $row->('/icons/text.gif', 'TXT', 'HEADER.html', 'HEADER.html', ' 11 ', '&nbsp;')
    . $row->('/icons/text.gif', 'TXT', 'README.html', 'README.html', ' 19 ', '&nbsp;')
    . $row->('/icons/text.gif', 'TXT', 'a.txt', 'a.txt', '  6 ', 'A text file')
    . $row->('/icons/compressed.gif', '   ', 'big.tar.gz', 'big.tar.gz', '2.9K', '&nbsp;')
    . $row->('/icons/text.gif', 'TXT', 'prog.c', 'prog.c', '  2 ', 'C source')
    . $row->('/icons/unknown.gif', 'Special', 'special.bin', 'special.bin', '  2 ', '&nbsp;')
    . $row->('/icons/unknown.gif', '   ', 'zz.unknownext', 'zz.unknownext', '  2 ', '&nbsp;');
my $list_part = $r->{body} // '';
like($list_part, qr{<tr><td valign="top"><img src="/icons/folder\.gif" alt="\[DIR\]"></td><td><a href="plain/">plain/</a></td><td align="right">[-0-9: ]+  </td><td align="right">  - </td><td>&nbsp;</td></tr>\n},
     'a directory gets ^^DIRECTORY^^\'s icon and [DIR]');
# Directories sort among the files by name ("first/" < "plain/" < "pre/"); keep the files only.
$list_part =~ s{<tr><td valign="top"><img src="/icons/folder\.gif"[^\n]*\n}{}g;
$expected .= qq{   <tr><th colspan="5"><hr></th></tr>\n</table>\nreadme <b>text</b>\n</body></html>\n};
is($list_part, $expected, "the listing is Apache's: icons, alt texts, sizes, descriptions, header, readme");
unlike($r->{body}, qr/<address>/, 'a ReadmeName file takes the signature\'s place');
unlike($r->{body}, qr/\.hidden/, 'IndexIgnore still applies');

# ---------------------------------------------------------------- the <pre> layout
$r = $w->get('/list/pre/');
my $pre = $r->{body} // '';
like($pre, qr{<pre><img src="/icons/blank\.gif" alt="Icon "> <a href="\?C=N;O=A">Name</a>         <a href="\?C=M;O=A">Last modified</a>      <a href="\?C=S;O=A">Size</a>  <a href="\?C=D;O=A">Description</a><hr>},
     '-HTMLTable: the <pre> layout with a NameWidth=12 column');
like($pre, qr{<a href="a-very-long-file-name\.txt">a-very-lo\.\.&gt;</a> $DATE    5   \n},
     '... a long name cut to 12 with "..>"');
my @order = $pre =~ m{<a href="(file\d+\.txt)">}g;
is_deeply(\@order, ['file10.txt', 'file2.txt', 'file1.txt'], 'IndexOrderDefault Descending Name with VersionSort');
like($pre, qr{<hr></pre>\n<address>weft/\S+ \(Unix\) Server at 127\.0\.0\.1 Port $port</address>\n</body></html>\n$},
     'no readme: the signature ends the listing');
like($pre, qr{<h1>Index of /list/pre</h1>}, 'no header file: the <h1>');

# ---------------------------------------------------------------- replacing and adding options
$r = $w->get('/list/plain/');
like($r->{body}, qr{<h1>Index of /list/plain</h1>\n<ul><li><a href="/list/"> Parent Directory</a></li>\n<li><a href="b.txt"> b.txt</a></li>\n</ul>\n<address>},
     'IndexOptions without +/- replaces: no FancyIndexing, Apache\'s plain list');
$r = $w->get('/list/first/');
is($r->{headers}{'content-type'}, 'text/html;charset=ISO-8859-1', '+options keep the inherited ones; Charset=ISO-8859-1');
@order = $r->{body} =~ m{<td><a href="([^"?]+)">}g;
is_deeply(\@order, ['/list/', 'zdir/', 'a.txt', 'B.txt', 'README.txt'], 'FoldersFirst, IgnoreCase');
like($r->{body}, qr{<th>Name</th><th>Last modified</th>}, 'SuppressColumnSorting: no sort links');
like($r->{body}, qr{</table>\n<pre>\nplain &amp; &lt;readme&gt;\n</pre>\n</body></html>\n$}, 'a text ReadmeName in <pre>, escaped');
like($r->{body}, qr{ <body>\n<h1>Index of /list/first</h1>\n}, 'HeaderName missing here: the <h1>');
like($r->{body}, qr{  <title>Index of /list/first</title>\n  <link rel="stylesheet" href="/css/list.css" type="text/css">\n<meta name="robots" content="noindex">\n </head>\n},
     'IndexStyleSheet and IndexHeadInsert in the head');
$r = $w->get('/list/guarded/');
like($r->{body}, qr{<p>open header</p>}, 'a HeaderName file a request may fetch is shown');
unlike($r->{body}, qr{secret readme}, 'a ReadmeName file its <Files> refuses is not shown (Apache\'s sub-request)');
is($w->get('/list/guarded/README.html')->{status}, 403, '... as a request for it is refused');
$r = $w->get('/list/quirk/');
like($r->{body}, qr{<th><a href="\?C=N;O=D">Name</a></th>},
     'a plain valued keyword forgets the +options before it in the same line, as Apache\'s');

# ---------------------------------------------------------------- RemoveType
$r = $w->get('/types/a.txt');
is($r->{headers}{'content-type'}, undef, 'RemoveType txt: no Content-Type, TypesConfig\'s mapping included');
is($w->get('/types/b.mine')->{headers}{'content-type'}, 'text/x-mine', 'AddType in the same section');
is($w->get('/types/again/c.txt')->{headers}{'content-type'}, 'text/plain', 'an AddType below a RemoveType wins again');
is($w->get('/types/again/d.mine')->{headers}{'content-type'}, undef, 'RemoveType below an AddType removes it');

$w->stop;
done_testing();
