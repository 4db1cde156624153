#!/usr/bin/perl
# The merge order of sections, checked with one setting (ErrorDocument 404
# text, visible in the body) that each section kind changes, written in the
# file in the opposite order: Directory (shortest first) < DirectoryMatch
# and <Directory ~> < Files and FilesMatch (file order) < Location and
# LocationMatch (file order); a vhost's sections after the main server's.
# Also wildcards, nesting, whole-segment <Location>, AllowOverride and
# section errors.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest;

my $w = WeftTest->new(
    conf => <<'EOF',
Listen 127.0.0.1:@PORT@
Listen 127.0.0.1:@PORT2@
<Directory "@ROOT@/www/d1/d2">
    ErrorDocument 404 "directory deep"
</Directory>
<Directory "@ROOT@/www/d1">
    ErrorDocument 404 "directory shallow"
    AllowOverride None
    AllowOverrideList None
</Directory>

<DirectoryMatch "/www/m/">
    ErrorDocument 404 "directorymatch"
</DirectoryMatch>
<Directory "@ROOT@/www/m">
    ErrorDocument 404 "directory"
</Directory>
<Directory ~ "/www/tilde/">
    ErrorDocument 404 "directory tilde"
</Directory>
<Directory "@ROOT@/www/tilde">
    ErrorDocument 404 "directory"
</Directory>

<Files "fonly.txt">
    ErrorDocument 404 "files"
</Files>
<DirectoryMatch "/www/f/">
    ErrorDocument 404 "directorymatch"
</DirectoryMatch>
<FilesMatch "^fm[0-9]\.txt$">
    ErrorDocument 404 "filesmatch"
</FilesMatch>
<Files "fm1.txt">
    ErrorDocument 404 "files after filesmatch"
</Files>
<Files "fm2.txt">
    ErrorDocument 404 "files before filesmatch"
</Files>
<Files ~ "^fm2\.txt$">
    ErrorDocument 404 "files tilde"
</Files>

<Location "/l">
    ErrorDocument 404 "location"
</Location>
<Files "lf.txt">
    ErrorDocument 404 "files"
</Files>
<Location "/lm">
    ErrorDocument 404 "location"
</Location>
<LocationMatch "^/lm/">
    ErrorDocument 404 "locationmatch"
</LocationMatch>
<Location ~ "^/lm/z">
    ErrorDocument 404 "location tilde"
</Location>
<Location "/seg">
    ErrorDocument 404 "segment"
</Location>
<Location "/wl/*/end">
    ErrorDocument 404 "location wildcard"
</Location>

<Directory "@ROOT@/www/nest">
    <Files "n.txt">
        ErrorDocument 404 "nested files"
    </Files>
</Directory>
<Directory "@ROOT@/www/wild*/sub">
    ErrorDocument 404 "directory wildcard"
</Directory>
<Files "*.bak">
    Require all denied
</Files>

<Location "/vh">
    ErrorDocument 404 "main location"
</Location>
<VirtualHost *:@PORT2@>
    ServerName vhost.example
    <Location "/vh">
        ErrorDocument 404 "vhost location"
    </Location>
    <Directory "@ROOT@/www/vd">
        ErrorDocument 404 "vhost directory"
    </Directory>
</VirtualHost>
<Location "/vd">
    ErrorDocument 404 "main location beats vhost directory"
</Location>
EOF
    files => { 'www/index.html' => "index\n", 'www/secret.bak' => "old\n", 'www/ok.txt' => "fine\n" },
);
$w->start;
my $port = $w->port;

sub winner {
    my ($path, %o) = @_;
    my $p = $o{port} // $port;
    my $r = $w->request("GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", port => $p);
    return 'default' if ($r->{body} // '') =~ /<title>404 Not Found/;
    return ($r->{status} // 0) == 404 ? $r->{body} : "status $r->{status}";
}

is(winner('/d1/d2/x.txt'), 'directory deep', 'Directory: the longest path merges last, whatever the file order');
is(winner('/d1/x.txt'), 'directory shallow', 'Directory: a shorter one alone');
is(winner('/m/x.txt'), 'directorymatch', 'DirectoryMatch after Directory');
is(winner('/tilde/x.txt'), 'directory tilde', '<Directory ~ regex> is a DirectoryMatch');
is(winner('/f/fonly.txt'), 'files', 'Files after DirectoryMatch');
is(winner('/fm1.txt'), 'files after filesmatch', 'Files and FilesMatch in file order (Files last)');
is(winner('/fm2.txt'), 'files tilde', 'Files and <Files ~> in file order (the regex last)');
is(winner('/fm3.txt'), 'filesmatch', 'FilesMatch alone');
is(winner('/l/lf.txt'), 'location', 'Location after Files');
is(winner('/lm/x'), 'locationmatch', 'Location and LocationMatch in file order');
is(winner('/lm/z'), 'location tilde', '<Location ~ regex> is a LocationMatch, in file order');
is(winner('/seg/x'), 'segment', 'Location covers what is below it');
is(winner('/seg'), 'segment', '... and itself');
is(winner('/segx'), 'default', '... but not a longer name (whole segments, as Apache 2.4)');
is(winner('/wl/a/end'), 'location wildcard', 'Location with a wildcard');
is(winner('/wl/a/b/end'), 'default', '... whose * does not cross a /');
is(winner('/nest/n.txt'), 'nested files', 'Files nested in a Directory applies there');
is(winner('/other/n.txt'), 'default', '... and not elsewhere');
is(winner('/wild1/sub/x'), 'directory wildcard', 'Directory with a wildcard');
is(winner('/wild1/other/x'), 'default', '... matches whole components only');
is(winner('/secret.bak'), 'status 403', 'Files with a wildcard and Require');
is(winner('/ok.txt'), 'status 200', 'other files are served');
is(winner('/vh/x', port => $w->port2), 'vhost location', 'a vhost\'s sections merge after the main server\'s');
is(winner('/vh/x'), 'main location', 'the main server keeps its own');
is(winner('/vd/x', port => $w->port2), 'main location beats vhost directory',
   'the main server\'s Location still merges after a vhost\'s Directory');

$w->stop;

# ---- configuration errors
sub config_error_like {
    my ($body, $line, $re, $name) = @_;
    my $t = WeftTest->new(conf => $body, files => { 'www/index.html' => "x\n" });
    my ($status, undef, $stderr) = $t->check_config;
    isnt($status, 0, "$name: -t fails");
    my $file = $t->conf_path;
    like($stderr, qr/^\Q$file\E:$line: $re/m, "$name: file:line message");
}
config_error_like("<Directory />\n    AllowOverride All Bogus\n</Directory>\n", 2,
                  qr/Illegal override option Bogus/, 'AllowOverride with an unknown category');
config_error_like("<DirectoryMatch \"^/srv\">\n    AllowOverride All\n</DirectoryMatch>\n", 2,
                  qr/AllowOverride is only allowed in <Directory> sections without a regular expression/,
                  'AllowOverride in a DirectoryMatch (as Apache 2.4)');
config_error_like("<Directory />\n    AllowOverrideList None Redirect\n</Directory>\n", 2,
                  qr/AllowOverrideList None cannot be combined/, 'AllowOverrideList None and a name');
config_error_like("<Location />\n    AllowOverride None\n</Location>\n", 2, qr/AllowOverride not allowed here/,
                  'AllowOverride in a Location');
config_error_like("<DirectoryMatch \"(\">\n</DirectoryMatch>\n", 1,
                  qr/Regular expression '\(' could not be compiled/, 'a bad regex');
config_error_like("<Location />\n<Files x>\n</Files>\n</Location>\n", 2,
                  qr/<Files> cannot occur within <Location> section/, 'Files in a Location');
config_error_like("<Files a b>\n</Files>\n", 1, qr/<Files> takes one argument, a file name/, 'Files with two names');
config_error_like("<FilesMatch>\n</FilesMatch>\n", 1, qr/<FilesMatch> takes one argument, a regular expression/,
                  'FilesMatch without regex');

done_testing();
