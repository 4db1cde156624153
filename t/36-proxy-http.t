#!/usr/bin/perl
# mod_proxy_http: ProxyPass to an HTTP/1.1 backend the test starts
# (t/lib/WeftHttpBackend.pm) in the server, <VirtualHost> and <Location>
# forms; the request as the backend sees it (hop-by-hop fields dropped,
# Host, X-Forwarded-*, ProxyPreserveHost); bodies both ways; ProxyPassReverse;
# keep-alive reuse observable by the backend's connection count; and the
# failures: a malformed head (two Content-Lengths, Transfer-Encoding with
# Content-Length, header injection, obs-fold) -> 502, bad chunking and a
# short body -> a cut response, slow -> 504, refused -> 503, ProxyRequests
# On refused.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::MD5 qw(md5_hex);
use WeftTest qw(wait_for);
use WeftHttpBackend;

my $w = WeftTest->new(
    conf => <<'CONF',
StartServers 1
MaxClients 1
ThreadsPerChild 4
MinSpareThreads 1
MaxSpareThreads 4
LogLevel info
ProxyRequests Off
ProxyPass /api/local/ !
ProxyPass /api/ http://127.0.0.1:@PORT2@/backend/
ProxyPassReverse /api/ http://127.0.0.1:@PORT2@/backend/
ProxyPass /refused/ http://127.0.0.1:@PORT3@/
<Location /loc/>
    ProxyPass http://127.0.0.1:@PORT2@/inside/
    ProxyPreserveHost On
    ProxyAddHeaders Off
</Location>
<Location /api/slow-40>
    ProxyTimeout 1
</Location>
<VirtualHost *:@PORT@>
    ServerName default.example
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName proxied.example
    ProxyPass /v/ http://127.0.0.1:@PORT2@/vhost/
</VirtualHost>
<IfModule proxy_http_module>
    Alias /marker.txt "@ROOT@/www/marker.txt"
</IfModule>
CONF
    files => { 'www/marker.txt' => "proxy_http is here\n", 'www/api/local/file.txt' => "local file\n" },
);
my $backend_port = $w->port2;
$w->port_n(3);
my $backend = WeftHttpBackend::start(port => $backend_port);
END { local $?; if ($backend) { kill 'KILL', $backend; waitpid($backend, 0) } }
$w->start;

is($w->get('/marker.txt')->body, "proxy_http is here\n", '<IfModule proxy_http_module> is true');

# The request as the backend sees it.
my $r = $w->request("GET /api/echo?x=1 HTTP/1.1\r\nHost: front.example\r\nConnection: close, X-Hop\r\n"
                    . "X-Hop: secret\r\nKeep-Alive: 5\r\nX-Forwarded-For: 192.0.2.1\r\nX-Custom: yes\r\n\r\n");
is($r->status, 200, 'ProxyPass /api/ to the backend');
my $seen = $r->body // '';
like($seen, qr{^GET /backend/echo\?x=1 HTTP/1\.1$}m, 'the path under the URL\'s, with the query');
like($seen, qr{^Host: 127\.0\.0\.1:$backend_port$}m, 'Host is the backend\'s');
like($seen, qr{^X-Custom: yes$}m, 'end-to-end fields are passed');
unlike($seen, qr{^(X-Hop|Keep-Alive|Connection):}mi, 'hop-by-hop fields (and those Connection names) are not');
like($seen, qr{^X-Forwarded-For: 192\.0\.2\.1, 127\.0\.0\.1$}m, 'X-Forwarded-For appends the client');
like($seen, qr{^X-Forwarded-Host: front\.example$}m, 'X-Forwarded-Host');
like($seen, qr{^X-Forwarded-Server: }m, 'X-Forwarded-Server');

$r = $w->request("GET /loc/echo HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");
like($r->body // '', qr{^GET /inside/echo HTTP/1\.1$}m, '<Location> ProxyPass: the section\'s path is the prefix');
like($r->body // '', qr{^Host: front\.example$}m, 'ProxyPreserveHost On sends the client\'s Host');
unlike($r->body // '', qr{^X-Forwarded}m, 'ProxyAddHeaders Off adds none');

$r = $w->request("GET /v/echo HTTP/1.1\r\nHost: proxied.example\r\nConnection: close\r\n\r\n");
like($r->body // '', qr{^GET /vhost/echo HTTP/1\.1$}m, '<VirtualHost> ProxyPass');
is($w->request("GET /v/echo HTTP/1.1\r\nHost: default.example\r\nConnection: close\r\n\r\n")->status, 404,
   'only in its virtual host');
is($w->get('/api/local/file.txt')->body, "local file\n", 'ProxyPass ... ! keeps a sub-tree local');

# Bodies.
$r = $w->get('/api/chunked');
is($r->body, 'chunk-one chunk-two ', 'a chunked response is passed on');
$r = $w->get('/api/close');
is($r->body, "until the end\n", 'a body delimited by the backend\'s close');
my $body = 'b' x 200_000;
$r = $w->request("POST /api/post HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 200000\r\n\r\n$body");
is($r->body, "length=200000 md5=" . md5_hex($body) . "\n", 'a request body with Content-Length');
my $chunked = join '', map { sprintf("%x\r\n%s\r\n", length $_, $_) } ('hello ', 'chunked ', 'world');
$r = $w->request("POST /api/post HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}0\r\n\r\n");
is($r->body, "length=19 md5=" . md5_hex('hello chunked world') . "\n", 'a chunked request body');

# ProxyPassReverse.
$r = $w->get('/api/redirect');
is($r->status, 302, 'a redirect from the backend');
like($r->header('Location') // '', qr{^http://127\.0\.0\.1:\d+/api/elsewhere$}, 'ProxyPassReverse rewrites its Location')
    or diag($r->header('Location'));

# Keep-alive: many requests, few backend connections.
my $before = ($w->get('/api/count')->body =~ /connections=(\d+)/)[0];
for (1 .. 10) { $w->get('/api/plain') }
my $after = ($w->get('/api/count')->body =~ /connections=(\d+)/)[0];
ok(defined $before && defined $after && $after - $before <= 2,
   "11 requests over pooled backend connections (new connections: " . (($after // 0) - ($before // 0)) . ')');

# Malformed heads: 502, nothing passed on.
for my $case (['two-lengths', 'two Content-Length fields'], ['te-cl', 'Transfer-Encoding with Content-Length'],
              ['inject', 'a CR inside a header value'], ['fold', 'a folded header line']) {
    my ($name, $what) = @$case;
    $r = $w->get("/api/$name");
    is($r->status, 502, "$what: 502");
    ok(!defined $r->header('Set-Cookie') && !defined $r->header('X-Folded') && ($r->body // '') !~ /abc/,
       "$what: nothing of it is passed");
}
$r = $w->get('/api/bad-chunk');
ok(defined $r->error, 'bad chunking from the backend: the response is cut') or diag($r->summary);
$r = $w->get('/api/short');
ok(defined $r->error, 'a body shorter than its Content-Length: the response is cut') or diag($r->summary);
is($w->get('/api/plain')->body, "hello from http\n", 'the backend is used normally afterwards');

# Failures.
$r = $w->get('/api/slow-40');
is($r->status, 504, 'ProxyTimeout 1 against a backend that takes 4 s: 504');
$r = $w->get('/refused/x');
is($r->status, 503, 'a refused connection: 503');

$w->stop;

# ProxyRequests On is refused.
my $on = WeftTest->new(conf => "ProxyRequests On\n");
my ($ok, $why) = $on->try_start;
ok(!$ok, 'ProxyRequests On: weft refuses to start');
like($on->output . $on->error_log, qr/forward proxy/, 'and says why');

done_testing;
