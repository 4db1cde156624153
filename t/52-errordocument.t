#!/usr/bin/perl
# ErrorDocument for 404 and 500 (500 from a CGI script's malformed header) in
# all three forms: a local document served by a sub-request with the error
# status kept, an external URL answered with a 302, and text; "default";
# one level only (a missing document falls back to the built-in page);
# section merging; 403 and 410 too; the logs keep the original request.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for);

my $w = WeftTest->new(
    conf => <<'EOF',
LogFormat "%U %>s" short
CustomLog logs/access_log short
ErrorDocument 404 /errors/404.html
ErrorDocument 500 /errors/500.html
ErrorDocument 403 "Forbidden here, friend"
ErrorDocument 410 http://example.com/gone-page
<Location /textual>
    ErrorDocument 404 "custom text for 404"
    ErrorDocument 500 "custom text for 500"
</Location>
<Location /remote>
    ErrorDocument 404 http://example.com/missing
    ErrorDocument 500 http://example.com/broken
</Location>
<Location /plain>
    ErrorDocument 404 default
</Location>
<Location /baddoc>
    ErrorDocument 404 /errors/missing.html
</Location>
<LocationMatch "/broken$">
    SetHandler cgi-script
    Options +ExecCGI
</LocationMatch>
<Directory "@ROOT@/www/denied">
    Require all denied
</Directory>
Redirect gone /gone
EOF
    files => {
        'www/index.html'       => "index\n",
        'www/errors/404.html'  => "custom 404 page\n",
        'www/errors/500.html'  => "custom 500 page\n",
        'www/denied/x.html'    => "never\n",
        (map { ($_ => { content => "#!/bin/sh\necho 'not a header line'\n", mode => 0755 }) }
             qw(www/broken www/textual/broken www/remote/broken)),
    },
);
$w->start;
my $port = $w->port;

sub fetch {
    my ($target, %o) = @_;
    my $method = $o{method} // 'GET';
    my $extra = $o{headers} // '';
    return $w->request("$method $target HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n${extra}Connection: close\r\n\r\n");
}

sub answers {
    my ($target, $status, $body, $name, %o) = @_;
    my $r = fetch($target, %o);
    is($r->{status}, $status, "$name: status $status");
    is($r->{body}, $body, "$name: body") if defined $body;
    return $r;
}

# ---- a local document
my $r = answers('/nope.html', 404, "custom 404 page\n", '404, local document');
like($r->{headers}{'content-type'} // '', qr{^text/html}, '... with the document\'s type');
ok(!defined $r->{headers}{etag} && !defined $r->{headers}{'last-modified'},
   '... and no validators of the document (an error is not cacheable as the page)');
$r = answers('/nope.html', 404, '', 'HEAD of a missing page', method => 'HEAD');
is($r->{headers}{'content-length'}, length("custom 404 page\n"), '... announces the document\'s length');
answers('/broken', 500, "custom 500 page\n", '500 (a CGI script\'s malformed header), local document');
answers('/nope.html', 404, undef, 'a conditional request for a missing page is still 404',
        headers => "If-None-Match: *\r\nIf-Modified-Since: Sun, 06 Nov 2094 08:49:37 GMT\r\n");
answers('/nope.html', 404, undef, 'a Range request for a missing page is still 404',
        headers => "Range: bytes=0-3\r\n");
answers('/errors/404.html', 200, "custom 404 page\n", 'the document itself is an ordinary page');

# ---- text
$r = answers('/textual/nope', 404, 'custom text for 404', '404, text');
like($r->{headers}{'content-type'} // '', qr{^text/html}, '... as text/html');
answers('/textual/broken', 500, 'custom text for 500', '500, text');
answers('/denied/x.html', 403, 'Forbidden here, friend', '403 (Require all denied), text');

# ---- external URL
$r = answers('/remote/nope', 302, undef, '404, external URL: a redirect');
is($r->{headers}{location}, 'http://example.com/missing', '... to the URL');
$r = answers('/remote/broken', 302, undef, '500, external URL');
is($r->{headers}{location}, 'http://example.com/broken', '... to the URL');
$r = answers('/gone', 302, undef, '410 from Redirect gone, external URL');
is($r->{headers}{location}, 'http://example.com/gone-page', '... to the URL');

# ---- default and fallbacks
$r = answers('/plain/nope', 404, undef, 'ErrorDocument 404 default');
like($r->{body} // '', qr{<title>404 Not Found</title>}, '... gives the built-in page back');
$r = answers('/baddoc/nope', 404, undef, 'a local document that is missing');
like($r->{body} // '', qr{<title>404 Not Found</title>}, '... falls back to the built-in page (one level only)');
$r = answers('/nope', 405, undef, 'an error without ErrorDocument', method => 'DELETE');

# ---- the connection and the logs
my ($responses) = $w->pipeline("GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2);
is(join(' ', map { ($_->{status} // 0) . ':' . ($_->{body} // '') } @$responses), "404:custom 404 page\n 200:index\n",
   'keep-alive goes on after an error document');
ok(wait_for(sub { $w->access_log =~ m{^/nope\.html 404$}m }), 'the access log has the original URL and status');
unlike($w->access_log, qr{^/errors/404\.html 404}m, '... not the document\'s');

$w->stop;

# ---- configuration errors
for my $case (["ErrorDocument 200 /x\n", qr/ErrorDocument takes an error status from 400 to 599, not '200'/],
              ["ErrorDocument 404\n", qr/ErrorDocument takes two arguments/],
              ["ErrorDocument 4044 /x\n", qr/ErrorDocument takes an error status from 400 to 599, not '4044'/]) {
    my $t = WeftTest->new(conf => $case->[0], files => { 'www/index.html' => "x\n" });
    my ($status, undef, $stderr) = $t->check_config;
    my $file = $t->conf_path;
    like($stderr, qr/^\Q$file\E:1: $case->[1]/m, "config error: $case->[0]");
}
my $t = WeftTest->new(conf => "ErrorDocument 401 http://example.com/login\n", files => { 'www/index.html' => "x\n" });
my ($status, undef, $stderr) = $t->check_config;
is($status, 0, 'ErrorDocument 401 with a URL is accepted...');
like($stderr, qr/ErrorDocument 401 cannot be a full URL/, '... with a warning, and ignored');

done_testing();
