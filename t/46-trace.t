#!/usr/bin/perl
# TRACE: refused by default (405 with an empty Allow, as with TraceEnable
# Off in Apache); with TraceEnable On the request head comes back as message/http,
# without the fields that carry credentials; a TRACE with a body is 413.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(scale);

my $off = WeftTest->new(conf => '', files => { 'www/index.html' => "x\n" });
$off->start;
my $r = $off->request("TRACE /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($r->{status}, 405, 'TraceEnable is off by default: 405') or diag($r->summary);
is($r->{headers}{allow}, '', '... with an empty Allow, as Apache');
unlike($r->{body} // '', qr/TRACE \/index/, '... and nothing reflected');
$off->stop;

my $w = WeftTest->new(
    conf => <<'EOF',
TraceEnable On
<Location /status>
    SetHandler server-status
</Location>
EOF
    files => { 'www/index.html' => "x\n" },
);
$w->start;
my $head = "TRACE /index.html?q=1 HTTP/1.1\r\nHost: example.test\r\nX-Custom: value  with  spaces\r\n"
    . "Cookie: session=secret\r\nAuthorization: Basic c2VjcmV0\r\nProxy-Authorization: Basic c2VjcmV0\r\n"
    . "Accept: */*\r\nConnection: close\r\n\r\n";
$r = $w->request($head);
is($r->{status}, 200, 'TraceEnable On: 200') or diag($r->summary);
is($r->{headers}{'content-type'}, 'message/http', 'Content-Type: message/http');
is($r->{body}, "TRACE /index.html?q=1 HTTP/1.1\r\nHost: example.test\r\nX-Custom: value  with  spaces\r\n"
    . "Accept: */*\r\nConnection: close\r\n\r\n", 'the request head comes back, without Cookie and Authorization');
is($r->{headers}{'content-length'}, length $r->{body}, 'Content-Length matches');

$r = $w->request("TRACE /no/such/file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($r->{status}, 200, 'TRACE does not need the resource to exist');
$r = $w->request("TRACE /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($r->{body}, "TRACE /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
   'TRACE is answered whatever handler the location has');
$r = $w->request("TRACE / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
is($r->{status}, 413, 'a TRACE with a body is refused (413), as in Apache');
$r = $w->request("TRACE / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n");
is($r->{status}, 413, '... a chunked one too');
$r = $w->request("TRACE * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($r->{status}, 400, 'TRACE * is a bad request (only OPTIONS takes *)');
$r = $w->get('/index.html');
is($r->{body}, "x\n", 'GET is unaffected');
$w->stop;

for my $bad ('TraceEnable maybe', "<Directory />\n    TraceEnable On\n</Directory>") {
    my $v = WeftTest->new(conf => "$bad\n");
    my ($code, $out, $err) = $v->check_config;
    isnt($code, 0, "'" . (split /\n/, $bad)[0] . "...' is a configuration error");
    like($out . $err, qr/weft\.conf:\d+:/, '... reported as file:line');
}

done_testing;
