#!/usr/bin/perl
# Options MultiViews (Apache's mod_negotiation): a request for a name that
# is no file finds its variants NAME.* classified by mod_mime's extensions
# (Debian-style AddLanguage lines, RemoveType, AddEncoding) and serves
# Apache's choice by Accept, Accept-Language and Accept-Encoding, then
# LanguagePriority, then size; Vary, TCN and Content-Location as Apache
# sends them; 406 when nothing is acceptable unless ForceLanguagePriority
# Fallback; <Files> of a variant applies; DirectoryIndex through
# MultiViews; Content-Language of a file with a language extension.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest;

my $w = WeftTest->new(
    conf => <<'EOF',
# As Debian's mods-available/mime.conf and negotiation.conf write them.
<IfModule mod_mime.c>
    AddLanguage ca .ca
    AddLanguage cs .cz .cs
    AddLanguage da .dk
    AddLanguage de .de
    AddLanguage en .en
    AddLanguage es .es
    RemoveType  es
    AddLanguage fr .fr
    AddLanguage pt-BR .pt-br
    AddEncoding gzip .gz
</IfModule>
<IfModule mod_negotiation.c>
    LanguagePriority fr en de es
</IfModule>
<Directory "@ROOT@/www/mv">
    Options +MultiViews
</Directory>
<Directory "@ROOT@/www/fallback">
    Options +MultiViews
    ForceLanguagePriority Prefer Fallback
</Directory>
<Directory "@ROOT@/www/idx">
    Options +MultiViews
    DirectoryIndex index
</Directory>
<Directory "@ROOT@/www/deflang">
    DefaultLanguage de
</Directory>
<Directory "@ROOT@/www/maps">
    AddHandler type-map var
</Directory>
<Directory "@ROOT@/www/sealed">
    Options +MultiViews
    <Files "doc.html.*">
        Require all denied
    </Files>
</Directory>
<Directory "@ROOT@/www/guarded">
    Options +MultiViews
    <Files "doc.html.de">
        Require all denied
    </Files>
</Directory>
EOF
    files => {
        'www/index.html'          => "root\n",
        'www/mv/doc.html.en'      => "english\n",
        'www/mv/doc.html.de'      => "deutsch\n",
        'www/mv/doc.html.fr'      => "francais\n",
        'www/mv/doc.html.es'      => "espanol\n",
        'www/mv/t.html'           => "h\n",
        'www/mv/t.txt'            => "text\n",
        'www/mv/style.css'        => ("body { color: black }\n" x 20),
        'www/mv/style.css.gz'     => "pretend-gzip",
        'www/plain/doc.html.en'   => "english\n",
        'www/fallback/doc.html.en' => "english\n",
        'www/fallback/doc.html.de' => "deutsch\n",
        'www/idx/index.html.en'   => "index english\n",
        'www/idx/index.html.de'   => "index deutsch\n",
        'www/guarded/doc.html.de' => "deutsch\n",
        # Apache's type-map example, qs and a two-language variant included.
        'www/maps/foo.var'        => "URI: foo\n\nURI: foo.en.html\nContent-type: text/html\nContent-language: en\n\n"
                                   . "URI: foo.fr.de.html\nContent-type: text/html;charset=iso-8859-2\n"
                                   . "Content-language: fr, de\n\nURI: foo.txt\nContent-type: text/plain; qs=0.5\n",
        'www/maps/foo.en.html'    => "english\n",
        'www/maps/foo.fr.de.html' => "franco-deutsch\n",
        'www/maps/foo.txt'        => "plain\n",
        'www/maps/empty.var'      => "# nothing\n",
        # Maps naming themselves or each other: bounded, not a crash.
        'www/maps/self.var'       => "URI: self.var\nContent-type: text/html\n",
        'www/maps/a.var'          => "URI: b.var\nContent-type: text/html\n",
        'www/maps/b.var'          => "URI: a.var\nContent-type: text/html\n",
        'www/maps/dot.var'        => "URI: ./\nContent-type: text/html\n",
        'www/maps/index.html'     => "maps index\n",
        'www/deflang/page.html'   => "seite\n",
        'www/deflang/page.en.html' => "page\n",
        'www/guarded/doc.html.en' => "english\n",
        'www/sealed/doc.html.en'  => "english\n",
        'www/sealed/doc.html.de'  => "deutsch\n",
    },
);
$w->start;
my $port = $w->port;

sub fetch {
    my ($target, %headers) = @_;
    return $w->get($target, %headers);
}

sub chose {
    my ($target, %headers) = @_;
    my $r = fetch($target, %headers);
    return ($r->{status} // 0) . ' ' . ($r->{headers}{'content-location'} // '-');
}

# ---- Accept-Language, LanguagePriority
my $r = fetch('/mv/doc');
is("$r->{status} $r->{body}", "200 francais\n", 'no Accept-Language: LanguagePriority\'s first');
is($r->{headers}{'content-language'}, 'fr', '... Content-Language from AddLanguage');
is($r->{headers}{'content-location'}, 'doc.html.fr', '... Content-Location names the variant');
is($r->{headers}{vary}, 'negotiate,accept-language', '... Vary names what the variants differ in');
is($r->{headers}{tcn}, 'choice', '... TCN: choice');
like($r->{headers}{'content-type'} // '', qr{^text/html}, '... the type from the .html before .fr');
is(chose('/mv/doc', 'Accept-Language' => 'de'), '200 doc.html.de', 'Accept-Language selects');
is(chose('/mv/doc', 'Accept-Language' => 'de;q=0.5, fr;q=0.9'), '200 doc.html.fr', 'quality factors decide');
is(chose('/mv/doc', 'Accept-Language' => 'de, en'), '200 doc.html.en',
   'equal qualities: LanguagePriority decides (as Apache)');
is(chose('/mv/doc', 'Accept-Language' => 'en-US'), '200 doc.html.en', 'en-US takes en (Apache\'s leniency)');
$r = fetch('/mv/doc', 'Accept-Language' => 'es');
is("$r->{status} $r->{body}", "200 espanol\n", 'RemoveType es: .es is only a language');
like($r->{headers}{'content-type'} // '', qr{^text/html}, '... and the variant stays text/html');
$r = fetch('/mv/doc', 'Accept-Language' => 'it');
is($r->{status}, 406, 'no acceptable language: 406');
is($r->{headers}{vary}, 'negotiate,accept-language', '... with Vary');
is($r->{headers}{tcn}, 'list', '... and TCN: list');
is(chose('/fallback/doc', 'Accept-Language' => 'it'), '200 doc.html.en',
   'ForceLanguagePriority Fallback: LanguagePriority instead of 406');
is(chose('/fallback/doc', 'Accept-Language' => 'de'), '200 doc.html.de', '... an acceptable language still wins');

# ---- Accept
is(chose('/mv/t', Accept => 'text/plain'), '200 t.txt', 'Accept selects the type');
is(chose('/mv/t', Accept => 'text/html, */*'), '200 t.html', '*/* without q counts less than an explicit type');
is(chose('/mv/t', Accept => 'text/html;q=0.2, text/plain;q=0.8'), '200 t.txt', 'type quality factors decide');
is(chose('/mv/t'), '200 t.html', 'no Accept: the smaller variant');
is(fetch('/mv/t', Accept => 'image/png')->{status}, 406, 'no acceptable type: 406');
is(fetch('/mv/t', Accept => 'image/png')->{headers}{vary}, 'negotiate,accept', '... Vary: negotiate,accept');

# ---- Accept-Encoding
$r = fetch('/mv/style', 'Accept-Encoding' => 'gzip, deflate');
is("$r->{status} $r->{body}", '200 pretend-gzip', 'an encoded variant the client accepts is preferred');
is($r->{headers}{'content-encoding'}, 'gzip', '... with Content-Encoding from AddEncoding');
like($r->{headers}{vary} // '', qr/accept-encoding/, '... and Vary names Accept-Encoding');
is(chose('/mv/style'), '200 style.css', 'without Accept-Encoding: the unencoded variant');
is(chose('/mv/style', 'Accept-Encoding' => 'br'), '200 style.css', 'an encoding not accepted: the unencoded one');

# ---- what is not negotiated
$r = fetch('/mv/t.html');
is("$r->{status} $r->{body}", "200 h\n", 'an existing file is served as it is');
ok(!defined $r->{headers}{tcn}, '... without negotiation headers');
$r = fetch('/mv/doc.html.de');
is($r->{headers}{'content-language'}, 'de', 'a file with a language extension has Content-Language');
is(fetch('/deflang/page.html')->{headers}{'content-language'}, 'de', 'DefaultLanguage for a file without a language extension');
is(fetch('/deflang/page.en.html')->{headers}{'content-language'}, 'en', '... not for one with');
is(fetch('/plain/doc')->{status}, 404, 'without Options MultiViews: 404');
is(fetch('/mv/nothing')->{status}, 404, 'no variant: 404');
is(chose('/mv/doc.html', 'Accept-Language' => 'en'), '200 doc.html.en', 'a name with a dot has variants too');

# ---- sections, DirectoryIndex
is(chose('/guarded/doc', 'Accept-Language' => 'de, en;q=0.5'), '200 doc.html.en',
   'a variant its <Files> refuses is not chosen');
$r = fetch('/sealed/doc');
is($r->{status}, 404, 'every variant refused by its <Files>: 404 as Apache, not a 406 that reveals them');
ok(!defined $r->{headers}{tcn} && !defined $r->{headers}{vary}, '... without negotiation headers');
$r = fetch('/idx/', 'Accept-Language' => 'de');
is("$r->{status} $r->{body}", "200 index deutsch\n", 'DirectoryIndex index through MultiViews');
# ---- type maps (AddHandler type-map var, as Debian's mime.conf)
$r = fetch('/maps/foo.var');
is("$r->{status} $r->{body}", "200 franco-deutsch\n", 'a type map: LanguagePriority among the text/html variants');
is($r->{headers}{'content-location'}, 'foo.fr.de.html', '... Content-Location');
is($r->{headers}{'content-language'}, 'fr,de', '... the served file\'s languages, as Apache joins them');
is($r->{headers}{vary}, 'negotiate,accept,accept-language', '... Vary');
is(chose('/maps/foo.var', 'Accept-Language' => 'en'), '200 foo.en.html', 'a type map: Accept-Language');
is(chose('/maps/foo.var', Accept => 'text/plain'), '200 foo.txt', 'a type map: Accept over qs');
is(chose('/maps/foo.var', 'Accept-Language' => 'it'), '200 foo.txt',
   'a variant without language is acceptable when no language is (Apache)');
is(fetch('/maps/foo.var', Accept => 'image/png')->{status}, 406, 'a type map with nothing acceptable: 406');
is(fetch('/maps/empty.var')->{status}, 500, 'a type map without variants: 500');
is(fetch('/maps/self.var')->{status}, 506, 'a type map naming itself: 506 as Apache, not unbounded recursion');
is(fetch('/maps/a.var')->{status}, 506, 'two type maps naming each other: 506');
is(fetch('/maps/dot.var')->{status}, 200, 'a type map naming its directory: the index');
is(fetch('/maps/foo.en.html')->{status}, 200, '... and the server still answers');
$w->stop;

# ---- Debian's own files load
SKIP: {
    my @files = grep { -e $_ } ('/etc/apache2/mods-available/mime.conf', '/etc/apache2/mods-available/negotiation.conf');
    skip 'Debian\'s apache2 mime.conf/negotiation.conf are not installed here', 1 unless @files == 2;
    my $t = WeftTest->new(conf => join('', map { "Include $_\n" } @files), files => { 'www/index.html' => "x\n" });
    my ($code, $out, $err) = $t->check_config;
    is($code, 0, 'Debian\'s mime.conf (81 AddLanguage lines) and negotiation.conf pass -t') or diag($err);
}

done_testing();
