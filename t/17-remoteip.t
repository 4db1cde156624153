#!/usr/bin/perl
# RemoteIPHeader: Apache's right-to-left walk of X-Forwarded-For (and
# X-Real-IP) over RemoteIPInternalProxy (may report private addresses) and
# RemoteIPTrustedProxy (public ones only), their -List files, the header
# left with what was not consumed, RemoteIPProxiesHeader; the client it
# finds is %a (the peer stays %{c}a), Require ip's, SetEnvIf Remote_Addr's
# and CGI's REMOTE_ADDR; a peer that is not a listed proxy changes nothing;
# with no list every hop is trusted but private addresses are refused.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use WeftTest qw(wait_for scale);

my $perl = $^X;
my $w = WeftTest->new(
    conf => <<"EOF",
Listen 127.0.0.1:\@PORT\@
Listen 127.0.0.1:\@PORT2\@
Listen 127.0.0.1:\@PORT3\@
LogFormat "%a %{c}a \\"%{X-Forwarded-For}i\\" %>s %U" ip
CustomLog logs/access_log ip
ScriptAlias /cgi-bin/ "\@ROOT\@/cgi-bin/"
SetEnvIf Remote_Addr ^203\\.0\\.113\\.5\$ FROM_CLIENT=yes
<Location /only-client>
    Require ip 203.0.113.0/24
</Location>
<VirtualHost 127.0.0.1:\@PORT\@>
    RemoteIPHeader X-Forwarded-For
    RemoteIPInternalProxy 127.0.0.1
    RemoteIPTrustedProxyList "\@ROOT\@/conf/trusted.txt"
    RemoteIPProxiesHeader X-Forwarded-By
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT2\@>
    RemoteIPHeader X-Forwarded-For
    RemoteIPTrustedProxy 192.0.2.0/24
</VirtualHost>
<VirtualHost 127.0.0.1:\@PORT3\@>
    RemoteIPHeader X-Real-IP
</VirtualHost>
EOF
    dirs => ['cgi-bin', 'www/only-client'],
    files => {
        'conf/trusted.txt' => "# the CDN\n198.51.100.0/24   # its edge\n\n2001:db8:1::/48 100.64.0.1\n",
        'www/index.html' => "hello\n",
        'www/only-client/index.html' => "for the client\n",
        'cgi-bin/addr.cgi' => { mode => 0755, content => <<"EOF" },
#!$perl
print "Content-Type: text/plain\\r\\n\\r\\n";
print "\$_=", (\$ENV{\$_} // '-'), "\\n" for qw(REMOTE_ADDR REMOTE_PORT HTTP_X_FORWARDED_FOR HTTP_X_REAL_IP HTTP_X_FORWARDED_BY FROM_CLIENT);
EOF
    },
);
$w->start;

# GET the script with the given header lines; returns "REMOTE_ADDR|XFF|BY".
sub seen {
    my ($headers, %o) = @_;
    my $r = $w->request("GET /cgi-bin/addr.cgi HTTP/1.1\r\nHost: x\r\n$headers" . "Connection: close\r\n\r\n",
                        port => $o{port});
    return 'no response: ' . ($r->{error} // '?') unless ($r->{status} // 0) == 200;
    my %v = ($r->{body} // '') =~ /^(\w+)=(.*)$/mg;
    return join '|', map { $v{$_} // '?' } @{ $o{fields} || [qw(REMOTE_ADDR HTTP_X_FORWARDED_FOR HTTP_X_FORWARDED_BY)] };
}

my @cases = (
    ["X-Forwarded-For: 203.0.113.5\r\n", '203.0.113.5|-|-',
     'an internal proxy reports a public client; the header is consumed'],
    ["X-Forwarded-For: 10.1.2.3\r\n", '10.1.2.3|-|-', 'an internal proxy may report a private client'],
    ["X-Forwarded-For: 203.0.113.5, 198.51.100.7\r\n", '203.0.113.5|-|198.51.100.7',
     'through a trusted proxy (from the -List file): RemoteIPProxiesHeader names it'],
    ["X-Forwarded-For:  203.0.113.5 ,198.51.100.7 , 100.64.0.1\r\n", '203.0.113.5|-|100.64.0.1, 198.51.100.7',
     'spaces around elements; two trusted proxies, listed as the walk met them (nearest first)'],
    ["X-Forwarded-For: 10.9.9.9, 198.51.100.7\r\n", '198.51.100.7|10.9.9.9|-',
     'a trusted (external) proxy may not report a private client: it is the client'],
    ["X-Forwarded-For: 172.16.0.1, 198.51.100.7\r\n", '198.51.100.7|172.16.0.1|-', '... 172.16/12'],
    ["X-Forwarded-For: 172.32.0.1, 198.51.100.7\r\n", '172.32.0.1|-|198.51.100.7', '... 172.32.0.1 is public'],
    ["X-Forwarded-For: 169.254.1.1, 198.51.100.7\r\n", '198.51.100.7|169.254.1.1|-', '... 169.254/16'],
    ["X-Forwarded-For: fd00::1, 2001:db8:1::9\r\n", '2001:db8:1::9|fd00::1|-',
     '... an IPv6 address outside 2000::/3'],
    ["X-Forwarded-For: 2001:db8:2::1, 2001:db8:1::9\r\n", '2001:db8:2::1|-|2001:db8:1::9', 'IPv6 public client'],
    ["X-Forwarded-For: 203.0.113.9, 192.0.2.1\r\n", '192.0.2.1|203.0.113.9|-',
     'a hop that is not a listed proxy is the client; what it reported stays'],
    ["X-Forwarded-For: 203.0.113.5, junk, 198.51.100.7\r\n", '198.51.100.7|203.0.113.5, junk|-',
     'an element that is not an address stops the walk'],
    ["X-Forwarded-For: 203.0.113.5, , 198.51.100.7\r\n", '198.51.100.7|203.0.113.5,|-',
     'an empty element stops the walk'],
    ["X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-For: 198.51.100.7\r\n", '203.0.113.5|-|198.51.100.7',
     'repeated fields are one list'],
    ["X-Forwarded-For: 203.0.113.9, 10.0.0.1\r\nX-Forwarded-For: 192.0.2.1\r\n", '192.0.2.1|203.0.113.9, 10.0.0.1|-',
     '... and what is left of them stays'],
    ["X-Forwarded-For: ::ffff:203.0.113.5\r\n", '203.0.113.5|-|-', 'an IPv4-mapped address is the IPv4 one'],
    ["", '127.0.0.1|-|-', 'no header: the peer'],
);
is(seen($_->[0]), $_->[1], $_->[2]) for @cases;

is(seen("X-Forwarded-For: 203.0.113.5\r\n", fields => ['FROM_CLIENT']), 'yes', 'SetEnvIf Remote_Addr sees the client');
is(seen("X-Forwarded-For: 203.0.113.5\r\n", fields => ['REMOTE_PORT']), '0',
   'REMOTE_PORT is 0 for a forwarded client (its port is not known), as Apache');
is($w->request("GET /only-client/ HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.77\r\nConnection: close\r\n\r\n")
     ->{status}, 200, 'Require ip grants the client');
is($w->request("GET /only-client/ HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.77\r\nConnection: close\r\n\r\n")
     ->{status}, 403, 'Require ip denies another client');
ok(wait_for(sub { $w->access_log =~ m{^203\.0\.113\.77 127\.0\.0\.1 "-" 200 /only-client/\S*$}m }, scale(5)),
   '%a is the client, %{c}a the peer, the header consumed') or diag($w->access_log);

# A peer that is not a listed proxy: nothing changes.
is(seen("X-Forwarded-For: 203.0.113.5\r\n", port => $w->port2), '127.0.0.1|203.0.113.5|-',
   'the peer is not a listed proxy: the header is the client\'s own word');
# No list: every hop is trusted, as a trusted (not internal) proxy.
my @real = (port => $w->port_n(3), fields => [qw(REMOTE_ADDR HTTP_X_REAL_IP)]);
is(seen("X-Real-IP: 203.0.113.8\r\n", @real), '203.0.113.8|-', 'no list: X-Real-IP from any peer');
is(seen("X-Real-IP: 10.0.0.8\r\n", @real), '127.0.0.1|10.0.0.8', 'no list: a private address is refused');

# A keep-alive connection: each request has its own client.
my ($responses) = $w->pipeline(
    "GET /cgi-bin/addr.cgi HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.1\r\n\r\n"
  . "GET /cgi-bin/addr.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2);
is(join(' ', map { (($_->{body} // '') =~ /^REMOTE_ADDR=(.*)$/m)[0] // '?' } @$responses), '203.0.113.1 127.0.0.1',
   'the next request on the connection starts again from the peer');

$w->stop;

# ---- configuration errors
for my $case (["RemoteIPTrustedProxy proxy.example.com\n", qr/RemoteIPTrustedProxy: 'proxy\.example\.com' is not an IP address/],
              ["RemoteIPInternalProxyList \@ROOT\@/conf/none.txt\n", qr/RemoteIPInternalProxyList: cannot open/],
              ["RemoteIPHeader \"X Bad\"\n", qr/RemoteIPHeader: 'X Bad' is not a header field name/]) {
    my $t = WeftTest->new(conf => $case->[0]);
    my ($status, undef, $stderr) = $t->check_config;
    isnt($status, 0, "-t refuses: $case->[0]" =~ s/\n//r);
    like($stderr, $case->[1], '... saying why');
}
my $t = WeftTest->new(conf => "RemoteIPTrustedProxyList conf/list.txt\n",
                      files => { 'conf/list.txt' => "10.0.0.1\n10.0.0.300 # typo\n" });
my (undef, undef, $stderr) = $t->check_config;
like($stderr, qr/'10\.0\.0\.300' at line 2 of .*list\.txt is not an IP address or network/, 'a bad line in a -List file names its line');

done_testing();
