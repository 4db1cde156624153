#!/usr/bin/perl
# RemoteIPProxyProtocol: a listener that expects the PROXY protocol reads a
# v1 or v2 header before anything else (in one write, or byte by byte), and
# its source address becomes the client of the requests (%a, Require ip,
# CGI's REMOTE_ADDR and REMOTE_PORT) while %{c}a stays the balancer, as in
# Apache; RemoteIPHeader is not walked on such a connection; LOCAL and
# UNKNOWN keep the TCP peer; a connection without a valid header is closed
# unanswered, one that stalls inside it is closed by the header timeout;
# RemoteIPProxyProtocolExceptions send none; a listener without it treats a
# header as a bad request; Off in a vhost carves its address out of a
# server-wide On; TLS on the same listener comes after the header (curl
# --haproxy-protocol).
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use IO::Socket::IP;
use Socket qw(inet_aton inet_pton AF_INET6);
use Test::More;
use Time::HiRes qw(time sleep);
use WeftTest qw(wait_for scale send_raw wait_closed);
use WeftTLS;

my ($curl_missing) = WeftTLS::run({ timeout => 10 }, 'sh', '-c', 'command -v curl && command -v openssl');
BAIL_OUT('curl and openssl are needed (apt-get install curl openssl)') if $curl_missing != 0;

my $pki_dir = tempdir('weft-pki-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $pki_dir;
my $pki = WeftTLS::make_pki("$pki_dir/pki");

my $perl = $^X;
my $w = WeftTest->new(
    conf => <<"EOF",
Listen 127.0.0.1:\@PORT\@
Listen 127.0.0.1:\@PORT2\@
Listen 127.0.0.1:\@PORT3\@ https
LogFormat "%a %{c}a %{remote}p %>s %U" ip
CustomLog logs/access_log ip
RequestReadTimeout header=2
LogLevel info
ScriptAlias /cgi-bin/ "\@ROOT\@/cgi-bin/"
<Location /only-client>
    Require ip 203.0.113.0/24
</Location>
<VirtualHost 127.0.0.1:\@PORT\@>
    RemoteIPProxyProtocol On
    RemoteIPProxyProtocolExceptions 127.0.0.2
    RemoteIPHeader X-Forwarded-For
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT2\@>
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT3\@>
    SSLEngine on
    SSLCertificateFile $pki->{'a.crt'}
    SSLCertificateKeyFile $pki->{'a.key'}
    RemoteIPProxyProtocol On
</VirtualHost>
EOF
    dirs => ['cgi-bin', 'www/only-client'],
    files => {
        'www/index.html' => "hello\n",
        'www/only-client/index.html' => "for the client\n",
        'cgi-bin/addr.cgi' => { mode => 0755, content => <<"EOF" },
#!$perl
print "Content-Type: text/plain\\r\\n\\r\\n";
print "REMOTE_ADDR=\$ENV{REMOTE_ADDR}\\nREMOTE_PORT=\$ENV{REMOTE_PORT}\\n";
print "HTTP_X_FORWARDED_FOR=", (\$ENV{HTTP_X_FORWARDED_FOR} // '-'), "\\n";
EOF
    },
);
$w->start;
my $port = $w->port;

my $request = "GET /cgi-bin/addr.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

sub v2 {
    my (%o) = @_;
    my $command = $o{local} ? 0x20 : 0x21;
    my ($family, $addresses) = (0x00, '');
    if (($o{family} // '') eq 'inet') {
        $family = 0x11;
        $addresses = inet_aton($o{source}) . inet_aton($o{destination}) . pack('nn', $o{sport}, $o{dport});
    } elsif (($o{family} // '') eq 'inet6') {
        $family = 0x21;
        $addresses = inet_pton(AF_INET6, $o{source}) . inet_pton(AF_INET6, $o{destination})
            . pack('nn', $o{sport}, $o{dport});
    }
    my $tlvs = join('', map { pack('Cn', $_->[0], length $_->[1]) . $_->[1] } @{ $o{tlvs} || [] });
    my $block = $addresses . $tlvs;
    return "\r\n\r\n\0\r\nQUIT\n" . pack('CCn', $o{version_command} // $command, $family, length $block) . $block;
}

# Sends $prefix then $request on a new connection to $port (from $local),
# pieces of $chunk bytes with a pause between them; reads one response.
sub exchange {
    my ($prefix, %o) = @_;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $o{port} // $port,
                                   ($o{local} ? (LocalHost => $o{local}) : ()), Timeout => scale(10))
        or return { error => "connect: $!" };
    $sock->autoflush(1);
    binmode $sock;
    my $data = $prefix . ($o{request} // $request);
    if ($o{chunk}) {
        for (my $at = 0; $at < length $data; $at += $o{chunk}) {
            send_raw($sock, substr($data, $at, $o{chunk})) or last;
            sleep 0.01 if $at < length($prefix);
        }
    } else {
        send_raw($sock, $data);
    }
    my $r = WeftTest::read_response($sock, timeout => scale(10));
    close $sock;
    return $r;
}

sub remote_of {
    my ($r) = @_;
    return 'no response: ' . ($r->{error} // '?') unless defined $r->{status};
    my ($address) = ($r->{body} // '') =~ /^REMOTE_ADDR=(.*)$/m;
    my ($p) = ($r->{body} // '') =~ /^REMOTE_PORT=(.*)$/m;
    return "$r->{status} " . ($address // '-') . ':' . ($p // '-');
}

# ---- version 1
is(remote_of(exchange("PROXY TCP4 203.0.113.7 127.0.0.1 51000 $port\r\n")), '200 203.0.113.7:51000',
   'v1 TCP4: REMOTE_ADDR and REMOTE_PORT are the header\'s source');
is(remote_of(exchange("PROXY TCP6 2001:db8::7 ::1 4242 $port\r\n")), '200 2001:db8::7:4242',
   'v1 TCP6');
is(remote_of(exchange("PROXY UNKNOWN\r\n")) =~ s/:\d+$//r, '200 127.0.0.1', 'v1 UNKNOWN keeps the TCP peer');
is(remote_of(exchange("PROXY TCP4 198.51.100.9 127.0.0.1 60001 80\r\n", chunk => 1)), '200 198.51.100.9:60001',
   'v1 byte by byte');

# ---- version 2
my $v2 = v2(family => 'inet', source => '203.0.113.9', destination => '127.0.0.1', sport => 40000, dport => $port);
is(remote_of(exchange($v2)), '200 203.0.113.9:40000', 'v2 INET in one write');
is(remote_of(exchange($v2, chunk => 1)), '200 203.0.113.9:40000', 'v2 INET byte by byte');
is(remote_of(exchange(v2(family => 'inet6', source => '2001:db8::1', destination => '2001:db8::2', sport => 1234,
                         dport => 443, tlvs => [[0x01, 'h2'], [0x04, ''], [0xE0, 'x' x 300]]), chunk => 7)),
   '200 2001:db8::1:1234', 'v2 INET6 with TLVs, in 7-byte pieces');
is(remote_of(exchange(v2(family => 'inet', source => '203.0.113.10', destination => '127.0.0.1', sport => 5,
                         dport => 6, tlvs => [[0xE1, 'y' x 20000], [0xE2, 'z' x 40000]]))),
   '200 203.0.113.10:5', 'v2 with 60 KB of TLVs and the request in one write (more than a read buffer)');
is(remote_of(exchange(v2(local => 1))) =~ s/:\d+$//r, '200 127.0.0.1', 'v2 LOCAL keeps the TCP peer');
is(remote_of(exchange(v2(local => 1, family => 'inet', source => '203.0.113.1', destination => '127.0.0.1',
                         sport => 1, dport => 2))) =~ s/:\d+$//r,
   '200 127.0.0.1', 'v2 LOCAL with addresses ignores them');

# ---- the client is the header's source for access control and the log
is(exchange("PROXY TCP4 203.0.113.50 127.0.0.1 1000 80\r\n",
            request => "GET /only-client/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")->{status},
   200, 'Require ip grants the header\'s source');
is(exchange("PROXY TCP4 198.51.100.50 127.0.0.1 1000 80\r\n",
            request => "GET /only-client/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")->{status},
   403, 'Require ip denies another source');
ok(wait_for(sub { $w->access_log =~ m{^198\.51\.100\.50 127\.0\.0\.1 1000 403 /only-client/$}m }, scale(5)),
   '%a is the header\'s source, %{c}a the balancer, %{remote}p the source port')
    or diag($w->access_log);
my $with_xff = "GET /cgi-bin/addr.cgi HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.99\r\nConnection: close\r\n\r\n";
my $r = exchange("PROXY TCP4 203.0.113.7 127.0.0.1 51000 $port\r\n", request => $with_xff);
is(remote_of($r) . ' ' . ((($r->{body} // '') =~ /^HTTP_X_FORWARDED_FOR=(.*)$/m)[0] // '?'),
   '200 203.0.113.7:51000 203.0.113.99', 'RemoteIPHeader is not walked on a PROXY connection');

# ---- no header, a bad one, a stalled one: closed without an answer
sub closed_unanswered {
    my ($data, $name, %o) = @_;
    my $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, Timeout => scale(10));
    ok($sock, "$name: connected") or return;
    binmode $sock;
    send_raw($sock, $data);
    my ($state, undef, $bytes) = wait_closed($sock, scale($o{wait} // 10));
    is($state, 'closed', "$name: closed without an answer") or diag("got $state: " . ($bytes // ''));
    close $sock;
}
closed_unanswered($request, 'a plain request where PROXY is expected');
closed_unanswered("PROXY TCP4 203.0.113.7 127.0.0.1 51000\r\n$request", 'v1 missing a port');
closed_unanswered("PROXY TCP4 203.0.113.7 127.0.0.1 051000 80\r\n$request", 'v1 with a leading zero');
closed_unanswered("PROXY TCP4 203.0.113.7  127.0.0.1 1 80\r\n$request", 'v1 with two spaces');
closed_unanswered("PROXY TCP4 203.0.113.7 127.0.0.1 1 80\n$request", 'v1 without CR');
closed_unanswered('PROXY UNKNOWN ' . ('x' x 100) . "\r\n$request", 'v1 longer than 107 bytes');
closed_unanswered(v2(version_command => 0x11, family => 'inet', source => '1.2.3.4', destination => '1.2.3.4',
                     sport => 1, dport => 2) . $request, 'v2 with version 1');
closed_unanswered(v2(version_command => 0x22, family => 'inet', source => '1.2.3.4', destination => '1.2.3.4',
                     sport => 1, dport => 2) . $request, 'v2 with command 2');
closed_unanswered(v2(family => 'inet', source => '1.2.3.4', destination => '1.2.3.4', sport => 1, dport => 2,
                     tlvs => [[0x01, 'x']]) =~ s/\x01\x00\x01x$/\x01\x00\x05x/r, 'v2 with a TLV that overruns');
my $t0 = time;
closed_unanswered("PROXY TCP4 203.0.113.7", 'a header that stalls', wait => 20);
cmp_ok(time - $t0, '<', scale(15), '... closed by the header timeout (RequestReadTimeout header=2), not held');
ok(wait_for(sub { $w->error_log =~ /remoteip.*sent no valid PROXY header/ }, scale(5)),
   'a bad header is logged at info') or diag($w->error_log);

# ---- exceptions and a listener without PROXY
SKIP: {
    my $probe = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port, LocalHost => '127.0.0.2');
    skip('cannot connect from 127.0.0.2', 2) unless $probe;
    close $probe;
    is(remote_of(exchange('', local => '127.0.0.2')) =~ s/:\d+$//r, '200 127.0.0.2',
       'RemoteIPProxyProtocolExceptions: 127.0.0.2 needs no header');
    is(exchange("PROXY TCP4 203.0.113.7 127.0.0.1 1 80\r\n", local => '127.0.0.2')->{status}, 400,
       '... and a header it sends is not read as one');
    is(remote_of(exchange('', local => '127.0.0.2', request => $with_xff)), '200 203.0.113.99:0',
       '... and RemoteIPHeader is walked for it');
}
is(remote_of(exchange('', port => $w->port2)) =~ s/:\d+$//r, '200 127.0.0.1',
   'a listener without RemoteIPProxyProtocol answers plain requests');
is(exchange("PROXY TCP4 203.0.113.7 127.0.0.1 1 80\r\n", port => $w->port2)->{status}, 400,
   '... and a PROXY header there is a bad request');

# ---- TLS after the header on the same listener
my @https = (ca => $pki->{ca}, port => $w->port_n(3), path => '/');
my ($status, $body) = WeftTLS::https_get(@https, args => ['--haproxy-protocol']);
is("$status $body", "200 hello\n", 'TLS after a v1 header (curl --haproxy-protocol)');
($status) = WeftTLS::https_get(@https);
like($status, qr/^curl /, 'TLS without the header is refused');

$w->stop;

# RemoteIPProxyProtocol On for the whole server, Off in one vhost: that
# vhost's address is carved out (Apache's enabled and disabled lists).
my $v = WeftTest->new(
    conf => <<'EOF',
Listen 127.0.0.1:@PORT@
Listen 127.0.0.1:@PORT2@
RemoteIPProxyProtocol On
<VirtualHost 127.0.0.1:@PORT2@>
    RemoteIPProxyProtocol Off
</VirtualHost>
EOF
    files => { 'www/index.html' => "hello\n" },
);
$v->start;
my $plain_get = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
is(exchange("PROXY TCP4 203.0.113.7 127.0.0.1 1 80\r\n", port => $v->port, request => $plain_get)->{status},
   200, 'server-wide On: the main address expects a header');
is($v->request($plain_get)->{status}, undef, '... and closes a connection without one');
is($v->request($plain_get, port => $v->port2)->{status}, 200, 'a vhost with Off takes a plain request on its address');
$v->stop;
done_testing();
